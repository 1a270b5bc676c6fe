package main

import "testing"

// The options a printed command repeats: where the run acted, from its
// flags or, failing them, its environment, each quoted for a shell.
func TestWhereFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		g    globals
		env  map[string]string
		run  string // the Region the run's clients called, once learned
		want string
	}{
		{"nothing known", globals{}, nil, "", ""},
		{"the run's Region wins", globals{region: "eu-west-1"}, map[string]string{"AWS_REGION": "us-west-2"}, "eu-west-1", "--region eu-west-1"},
		{"Region from the environment", globals{}, map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"}, "", "--region ap-south-1"},
		{"AWS_REGION before AWS_DEFAULT_REGION", globals{}, map[string]string{"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "ap-south-1"}, "", "--region us-east-2"},
		{"endpoint from AWS_ENDPOINT_URL", globals{endpointURL: "http://127.0.0.1:4566", endpointSource: "AWS_ENDPOINT_URL"}, nil, "us-east-1",
			"--endpoint-url http://127.0.0.1:4566 --region us-east-1"},
		{"profile from the environment, quoted", globals{}, map[string]string{"AWS_PROFILE": "ops team's"}, "us-east-1",
			`--region us-east-1 --profile 'ops team'\''s'`},
		{"--profile before AWS_PROFILE", globals{profile: "prod"}, map[string]string{"AWS_PROFILE": "dev"}, "", "--profile prod"},
		{"certificates", globals{caBundle: "/etc/ca dir/ca.pem", noVerifySSL: false}, nil, "", "--ca-bundle '/etc/ca dir/ca.pem'"},
		{"no TLS check", globals{noVerifySSL: true}, nil, "", "--no-verify-ssl"},
		{"targets", globals{targets: targetFlags{regions: []string{"eu-west-1", "us-east-1"}, orgRole: "Audit"}}, nil, "us-east-1",
			"--region us-east-1 --regions eu-west-1,us-east-1 --organization-role Audit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &app{g: &tt.g, runRegion: tt.run, getenv: func(k string) string { return tt.env[k] }}
			if got := a.whereFlags(); got != tt.want {
				t.Errorf("whereFlags() = %q, want %q", got, tt.want)
			}
			want := "imdsopts undo 'a run.jsonl'"
			if tt.want != "" {
				want += " " + tt.want
			}
			if got := a.rerun("undo", "a run.jsonl"); got != want {
				t.Errorf("rerun() = %q, want %q", got, want)
			}
		})
	}
}
