require ["foreverypart", "mime", "extracttext", "variables", "fileinto", "imap4flags"];
foreverypart :name "outer" {
  if header :mime :subtype "Content-Type" "html" { addflag "$html"; }
  if header :mime :type "Content-Type" "text" {
    extracttext :first 40 "t";
    if string :contains "${t}" "invoice" { fileinto "Invoices"; break :name "outer"; }
  }
}
