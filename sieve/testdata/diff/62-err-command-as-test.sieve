if keep { stop; }
