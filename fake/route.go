package fake

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// sigV4Algorithm is the scheme of the Authorization header of requests
// signed with Signature Version 4, the only one the handler routes by.
const sigV4Algorithm = "AWS4-HMAC-SHA256"

// credentialScope is what the Authorization header of a SigV4 request
// says of its credentials: the access key ID and the credential scope
// (date, Region, service). The signature is not verified.
type credentialScope struct {
	accessKeyID, date, region, service string
}

// Limits of the parts of an Authorization header the handler reads.
const (
	maxAccessKeyID   = 128
	maxScopeName     = 64
	maxAuthorization = 8 << 10
)

// parseAuthorization reads the Authorization header of a request signed
// with SigV4:
//
//	AWS4-HMAC-SHA256 Credential=KEY/YYYYMMDD/REGION/SERVICE/aws4_request, SignedHeaders=h1;h2, Signature=HEX
//
// Credential, SignedHeaders and Signature must each be given once, in any
// order, separated by commas and optional spaces; KEY is 1 to 128 letters
// and digits, REGION and SERVICE 1 to 64 lower-case letters, digits and
// hyphens, SignedHeaders a list of header names separated by semicolons,
// and Signature hexadecimal. Its errors say which rule the header breaks.
func parseAuthorization(h string) (credentialScope, error) {
	var c credentialScope
	if len(h) > maxAuthorization {
		return c, fmt.Errorf("the Authorization header is longer than %d bytes", maxAuthorization)
	}
	rest, ok := strings.CutPrefix(h, sigV4Algorithm+" ")
	if !ok {
		algorithm, _, _ := strings.Cut(h, " ")
		return c, fmt.Errorf("the Authorization header names the algorithm %s; the emulator reads only %s", quoteValue(algorithm), sigV4Algorithm)
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return c, fmt.Errorf("the Authorization header has a part without '=': %s", quoteValue(part))
		}
		switch k {
		case "Credential", "SignedHeaders", "Signature":
		default:
			return c, fmt.Errorf("the Authorization header has an unknown part %s", quoteParam(k))
		}
		if _, dup := params[k]; dup {
			return c, fmt.Errorf("the Authorization header gives %s twice", k)
		}
		params[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if params[k] == "" {
			return c, fmt.Errorf("the Authorization header requires the %s parameter", k)
		}
	}
	if !isHeaderList(params["SignedHeaders"]) {
		return c, fmt.Errorf("the SignedHeaders %s are not a list of header names separated by ';'", quoteValue(params["SignedHeaders"]))
	}
	if strings.Trim(params["Signature"], "0123456789abcdef") != "" {
		return c, fmt.Errorf("the Signature %s is not hexadecimal", quoteValue(params["Signature"]))
	}
	parts := strings.Split(params["Credential"], "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return c, fmt.Errorf("the Credential %s is not KEY/DATE/REGION/SERVICE/aws4_request", quoteValue(params["Credential"]))
	}
	c = credentialScope{accessKeyID: parts[0], date: parts[1], region: parts[2], service: parts[3]}
	switch {
	case c.accessKeyID == "" || len(c.accessKeyID) > maxAccessKeyID || !isAlnum(c.accessKeyID):
		return credentialScope{}, fmt.Errorf("the access key ID %s is not 1 to %d letters and digits", quoteValue(c.accessKeyID), maxAccessKeyID)
	case !isDate(c.date):
		return credentialScope{}, fmt.Errorf("the credential scope's date %s is not YYYYMMDD", quoteValue(c.date))
	case !isScopeName(c.region):
		return credentialScope{}, fmt.Errorf("the credential scope's Region %s is not 1 to %d lower-case letters, digits and hyphens", quoteValue(c.region), maxScopeName)
	case !isScopeName(c.service):
		return credentialScope{}, fmt.Errorf("the credential scope's service %s is not 1 to %d lower-case letters, digits and hyphens", quoteValue(c.service), maxScopeName)
	}
	return c, nil
}

func isAlnum(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func isDate(s string) bool {
	if len(s) != 8 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}

func isScopeName(s string) bool {
	if s == "" || len(s) > maxScopeName {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func isHeaderList(s string) bool {
	for _, name := range strings.Split(s, ";") {
		if name == "" || !isHeaderName(name) {
			return false
		}
	}
	return true
}

func isHeaderName(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

// route returns the fakes request r of service svc reaches: the handler's
// own without an Organization or without an Authorization header, else the
// account/Region of its signature's access key and credential scope. When
// the credentials reach none, it returns nil and the answer to give,
// shaped for protocol p and service svc. It records the account and
// Region reached in rec.
func (h *handler) route(r *http.Request, p protocol, svc *service, rec *RequestRecord) (*target, answer) {
	auth := r.Header.Get("Authorization")
	if h.org == nil || auth == "" {
		if h.def.ec2 != nil {
			rec.Account, rec.Region = h.def.ec2.AccountID(), h.def.ec2.Region()
		}
		return &h.def, answer{}
	}
	scope, err := parseAuthorization(auth)
	if err != nil {
		return nil, h.failure(p, svc, 400, codeBadSignature, echo(err.Error()), "")
	}
	if scope.service != svc.signingName {
		return nil, h.failure(p, svc, 403, codeWrongScope,
			fmt.Sprintf("Credential should be scoped to correct service: '%s'.", svc.signingName), "")
	}
	refuse := func(why authFailure) (*target, answer) {
		a := svc.auth(why)
		return nil, h.failure(p, svc, a.status, a.code, a.message, "")
	}
	caller, why := h.org.caller(scope.accessKeyID, r.Header.Get("X-Amz-Security-Token"), time.Now())
	if why != 0 {
		return refuse(why)
	}
	if !IsRegion(scope.region) {
		return refuse(authBadRegion)
	}
	rec.Account, rec.Region = caller.account.id, scope.region
	t := &target{sts: &STS{org: h.org, caller: caller}, orgs: &Organizations{org: h.org, caller: caller}}
	if svc.global {
		return t, answer{}
	}
	reg, why := h.org.target(caller, scope.region)
	if why != 0 {
		return refuse(why)
	}
	t.ec2, t.cw, t.as = reg.ec2, reg.cw, reg.as
	return t, answer{}
}
