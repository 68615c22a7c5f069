redirect "Bob@Example.COM"; redirect "bob@example.com";
