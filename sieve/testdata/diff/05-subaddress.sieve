require ["fileinto","envelope","subaddress","variables"]; if envelope :detail :matches "to" "*" { if string :is "${1}" "" { keep; } else { fileinto "plus/${1}"; } }
