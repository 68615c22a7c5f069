require ["fileinto","variables"]; if header :matches "from" "*<*@*>" { fileinto "from-${3}"; }
