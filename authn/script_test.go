package authn

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckScripts: a name in one script passes, with digits and punctuation, and so does
// Latin with the scripts Japanese, Chinese and Korean write it with; a name that mixes
// other scripts is refused, naming both.
func TestCheckScripts(t *testing.T) {
	for _, tt := range []struct {
		name, want string // want: "" to pass, else a part of the error
	}{
		{"alice", ""},
		{"josé.garcía-2", ""},
		{"straße", ""},
		{"дмитрий_2", ""},
		{"αλέξης", ""},
		{"山田太郎", ""},
		{"yamada-やまだ-ヤマダ-山田", ""},
		{"kim-김철수", ""},
		{"wang-王-ㄨㄤ", ""},
		{"user@example.com", ""},
		{"аlice", "mixes Cyrillic and Latin letters ('а' U+0430 and 'l' U+006C)"},
		{"paypal-раураl", "mixes Latin and Cyrillic"},
		{"admіn", "mixes Latin and Cyrillic"},
		{"ΑΒΓ-abc", "mixes Greek and Latin"},
		{"ivan-иван", "mixes Latin and Cyrillic"},
		{"김-やまだ", "mixes Hangul and Hiragana"},
	} {
		err := checkScripts(tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q refused: %v", tt.name, err)
		case tt.want != "" && err == nil:
			t.Errorf("%q passed, want an error with %q", tt.name, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("%q: error %q, want it to hold %q", tt.name, err, tt.want)
		}
	}
}

// TestLookAlikes: names that differ in case, in letters of another script drawn alike,
// or in letters read as each other are grouped; names merely similar are not.
func TestLookAlikes(t *testing.T) {
	for _, tt := range []struct {
		names []string
		want  [][]string
	}{
		{[]string{"alice", "bob", "carol"}, nil},
		{[]string{"alice", "Alice"}, [][]string{{"Alice", "alice"}}},
		{[]string{"admin", "аdmin"}, [][]string{{"admin", "аdmin"}}},
		{[]string{"аре", "ape", "apex"}, [][]string{{"ape", "аре"}}},
		{[]string{"alice", "aIice", "a1ice", "bob", "b0b"},
			[][]string{{"a1ice", "aIice", "alice"}, {"b0b", "bob"}}},
		{[]string{"modern", "modem"}, [][]string{{"modem", "modern"}}},
		{[]string{"Ivan", "ivan", "lvan"}, [][]string{{"Ivan", "ivan", "lvan"}}},
		{[]string{"jim", "jin", "tim"}, nil},
		{[]string{"alice", "ali\u0307ce", "josé", "jose"}, [][]string{{"alice",
			"ali\u0307ce"}}},
		// Latin letters drawn alike, a small capital, as Unicode's confusables list them
		{[]string{"alice", "\u0251lice", "a\u01c0ice", "bob", "b\u1d0fb", "BOB", "carol"},
			[][]string{{"BOB", "bob", "b\u1d0fb"}, {"alice", "a\u01c0ice", "\u0251lice"}}},
		{[]string{"user1", "user2", "user10"}, nil},
	} {
		users := make(map[string]*User)
		for _, n := range tt.names {
			users[n] = &User{}
		}
		got := LookAlikes(users)
		if !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("LookAlikes(%q) = %q, want %q", tt.names, got, tt.want)
		}
	}
}

// TestNormalizeName: compatibility forms become the characters sign-in reads them as,
// and a name far past the longest a sign-in takes is left as it came, unexpanded.
func TestNormalizeName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"},
		{"\uff41\uff4c\uff49\uff43\uff45", "alice"},
		{"\ufb01ona", "fiona"},
		{"jose\u0301", "jos\u00e9"},
		{strings.Repeat("\ufdfa", 400), strings.Repeat("\ufdfa", 400)},
	} {
		if got := NormalizeName(tt.in); got != tt.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
