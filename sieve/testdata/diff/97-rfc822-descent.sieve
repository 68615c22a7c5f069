require ["body", "mime", "foreverypart", "extracttext", "variables", "fileinto", "imap4flags"];
if body :text :contains "Bestellung" { fileinto "InnerText"; }
if body :text :contains "receipt-html" { addflag "$innerhtml"; }
if body :content "message/rfc822" :contains "nested-marker" { fileinto "InnerHeader"; }
if header :mime :anychild :contains "Subject" "Rechnung" { fileinto "InnerSubject"; }
if exists :mime :anychild "X-Inner" { addflag "$xinner"; }
if header :mime :anychild :param "charset" "Content-Type" "iso-8859-1" { addflag "$latin1"; }
foreverypart {
  if header :mime :type "Content-Type" "text" {
    extracttext :first 60 "t";
    if string :contains "${t}" "invoice" { fileinto "InnerInvoice"; }
  }
  if header :mime :contenttype "Content-Type" "message/rfc822" { addflag "$rfc822"; }
}
