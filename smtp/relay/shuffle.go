package relay

import (
	"math/rand/v2"
	"net"
	"sort"
)

// shuffleEqual randomises the order among MX records of equal preference
// (RFC 5321 section 5.1) in a list already sorted by preference. It uses
// the global, concurrency-safe source: no package state of ours.
func shuffleEqual(mxs []*net.MX) {
	for i := 0; i < len(mxs); {
		j := i
		for j < len(mxs) && mxs[j].Pref == mxs[i].Pref {
			j++
		}
		group := mxs[i:j]
		rand.Shuffle(len(group), func(a, b int) { group[a], group[b] = group[b], group[a] })
		i = j
	}
}

func sortStrings(s []string) { sort.Strings(s) }
