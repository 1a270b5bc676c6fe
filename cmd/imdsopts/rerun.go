package main

import "strings"

// rerun writes a command line for a note to print: imdsopts and words,
// each quoted for a shell, then the options that say where the run acted
// (see whereFlags). Pasted later, in a shell without the run's environment
// (the README's blocks unset AWS_ENDPOINT_URL when they end), the command
// acts on the same endpoint, Region, profile and targets as the run, never
// on another: a resume or undo sent to real AWS instead of an emulator, or
// to another Region, would act on instances the journal does not describe.
func (a *app) rerun(words ...string) string {
	parts := []string{"imdsopts"}
	for _, w := range words {
		parts = append(parts, shellQuote(w))
	}
	if where := a.whereFlags(); where != "" {
		parts = append(parts, where)
	}
	return strings.Join(parts, " ")
}

// whereFlags writes the global and target options that decide where the
// run acts: the endpoint (from --endpoint-url or AWS_ENDPOINT_URL), the
// Region (the one its clients call when known, else --region, AWS_REGION
// or AWS_DEFAULT_REGION), the profile (--profile, AWS_PROFILE or
// AWS_DEFAULT_PROFILE), how the endpoint's certificate is checked, and the
// target flags. The external ID of a role is not repeated: it is a secret
// the user gives again.
func (a *app) whereFlags() string {
	g := a.g
	if g == nil {
		return ""
	}
	var parts []string
	add := func(flag, value string) {
		if value != "" {
			parts = append(parts, flag+" "+shellQuote(value))
		}
	}
	add("--endpoint-url", g.endpointURL)
	region := a.runRegion
	switch {
	case region != "":
	case g.region != "":
		region = g.region
	case g.sdk != nil && g.sdk.Region != "":
		region = g.sdk.Region
	default:
		region = a.firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	}
	add("--region", region)
	profile := g.profile
	if profile == "" {
		profile = a.firstEnv("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
	}
	add("--profile", profile)
	add("--ca-bundle", g.caBundle)
	if g.noVerifySSL {
		parts = append(parts, "--no-verify-ssl")
	}
	if g.targets.active() {
		if t := targetFlagsText(&g.targets); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// firstEnv returns the first of the environment variables names that is
// set and not empty.
func (a *app) firstEnv(names ...string) string {
	if a.getenv == nil {
		return ""
	}
	for _, n := range names {
		if v := a.getenv(n); v != "" {
			return v
		}
	}
	return ""
}
