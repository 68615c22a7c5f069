require ["mime", "fileinto"];
if header :mime :type "Content-Type" "multipart" { fileinto "Multipart"; }
if header :mime :anychild :contenttype "Content-Type" "application/pdf" { fileinto "Pdf"; }
if header :mime :anychild :param "filename" "Content-Disposition" "report.pdf" { fileinto "Report"; }
if exists :mime :anychild "Content-Disposition" { fileinto "Attachment"; }
if header :mime :subtype "Content-Type" "plain" { fileinto "Plain"; }
