package main

import (
	"strings"
	"testing"
)

// FuzzRoleARNsFile: the parser of --role-arns-file never panics; what it
// keeps are the lines that are not blank or comments, trimmed, each with
// its line number, in order.
func FuzzRoleARNsFile(f *testing.F) {
	f.Add("arn:aws:iam::111111111111:role/Ops\n")
	f.Add("# roles\n\n  arn:aws:iam::111111111111:role/Ops  \r\narn:aws:iam::222222222222:role/Ops")
	f.Add("a\x00b\n")
	f.Add(strings.Repeat("#\n", 100))
	f.Fuzz(func(t *testing.T, text string) {
		arns, lines, err := parseRoleARNs([]byte(text))
		if err != nil {
			return
		}
		if len(arns) != len(lines) {
			t.Fatalf("%d ARNs, %d line numbers", len(arns), len(lines))
		}
		all := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		prev := 0
		for i, a := range arns {
			if a == "" || a != strings.TrimSpace(a) || strings.HasPrefix(a, "#") || strings.ContainsRune(a, 0) {
				t.Errorf("kept %q", a)
			}
			if lines[i] <= prev || lines[i] > len(all) || strings.TrimSpace(all[lines[i]-1]) != a {
				t.Errorf("ARN %q given as line %d of %q", a, lines[i], text)
			}
			prev = lines[i]
		}
	})
}

// FuzzRegionsFlag: --regions never panics, and what it takes is "all"
// alone, or names without spaces or commas, each as given.
func FuzzRegionsFlag(f *testing.F) {
	for _, s := range []string{"us-east-1,eu-west-1", "all", "all,us-east-1", " eu-west-1 , us-east-1", ",", "EU"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var tf targetFlags
		fs := newFlagSet("fuzz")
		tf.register(fs)
		if _, err := parseArgs(fs, []string{"--regions", s}, givenFlags{}); err != nil {
			return
		}
		if tf.allRegions && len(tf.regions) > 0 {
			t.Errorf("%q: all and %v", s, tf.regions)
		}
		for _, r := range tf.regions {
			if r == "" || r == "all" || strings.Contains(r, ",") || r != strings.TrimSpace(r) {
				t.Errorf("%q: took %q", s, r)
			}
			if !strings.Contains(s, r) {
				t.Errorf("%q: took %q, which it does not hold", s, r)
			}
		}
		if err := tf.check(); err == nil {
			for _, r := range tf.regions {
				if r != strings.ToLower(r) || strings.ContainsAny(r, " ,") {
					t.Errorf("%q: %q passed the check", s, r)
				}
			}
		}
	})
}
