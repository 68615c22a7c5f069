require ["variables","fileinto"]; set :upperfirst "a" "hello"; set :length "n" "hello"; set :upper "b" "${a}"; fileinto "${a}-${n}-${b}";
