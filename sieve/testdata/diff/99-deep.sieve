require ["body", "mime", "foreverypart", "extracttext", "variables", "fileinto"];
if body :text :contains "deepmarker" { fileinto "BodyText"; }
if header :mime :anychild "Subject" "bottom" { fileinto "Bottom"; }
foreverypart { extracttext "t"; if string :contains "${t}" "deepmarker" { fileinto "Extract"; } }
