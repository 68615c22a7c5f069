require ["include", "fileinto"];
include :personal "ret";
fileinto "After";
