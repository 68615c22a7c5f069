require ["foreverypart", "mime", "extracttext", "variables", "fileinto"];
foreverypart {
  extracttext "t";
  if string :contains "${t}" "PDF-1.4" { fileinto "pdf"; }
  if string :contains "${t}" "nested-marker" { fileinto "rfc822hdr"; }
  if string :contains "${t}" "Bestellung" { fileinto "innertext"; }
  if string :contains "${t}" "multi-part message" { fileinto "prologue"; }
}
