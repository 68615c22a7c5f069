require "fileinto"; fileinto "A"; stop; fileinto "B";
