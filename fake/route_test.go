package fake

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=ASIAAAAAAAAAAAAAAAAB/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=00ff"
	c, err := parseAuthorization(good)
	if err != nil || c != (credentialScope{"ASIAAAAAAAAAAAAAAAAB", "20260101", "eu-west-1", "ec2"}) {
		t.Fatalf("%+v, %v", c, err)
	}
	// The parts in another order, without spaces: the same.
	if c2, err := parseAuthorization("AWS4-HMAC-SHA256 Signature=00ff,SignedHeaders=host,Credential=ASIAAAAAAAAAAAAAAAAB/20260101/eu-west-1/ec2/aws4_request"); err != nil || c2 != c {
		t.Errorf("reordered: %+v, %v", c2, err)
	}
	for _, tt := range []struct{ header, want string }{
		{"", "names the algorithm"},
		{"AWS4-ECDSA-P256-SHA256 Credential=k/20260101/ec2/aws4_request, SignedHeaders=host, Signature=00", "names the algorithm AWS4-ECDSA-P256-SHA256; the emulator reads only AWS4-HMAC-SHA256"},
		{"AWS AKID:sig", "names the algorithm AWS"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host", "requires the Signature parameter"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, Signature=00", "requires the SignedHeaders parameter"},
		{"AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "requires the Credential parameter"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00, Signature=01", "gives Signature twice"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00, Extra=1", "unknown part Extra"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature", "a part without '='"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2, SignedHeaders=host, Signature=00", "is not KEY/DATE/REGION/SERVICE/aws4_request"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws5_request, SignedHeaders=host, Signature=00", "is not KEY/DATE/REGION/SERVICE/aws4_request"},
		{"AWS4-HMAC-SHA256 Credential=k-1/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "the access key ID k-1 is not 1 to 128 letters and digits"},
		{"AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "the access key ID  is not"},
		{"AWS4-HMAC-SHA256 Credential=k/20261301/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "date 20261301 is not YYYYMMDD"},
		{"AWS4-HMAC-SHA256 Credential=k/2026-1-1/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "is not YYYYMMDD"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/US-EAST-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "Region US-EAST-1 is not"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1//aws4_request, SignedHeaders=host, Signature=00", "service  is not"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;;date, Signature=00", "are not a list of header names"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=Host, Signature=00", "are not a list of header names"},
		{"AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=xyz", "the Signature xyz is not hexadecimal"},
		{"AWS4-HMAC-SHA256 Credential=" + strings.Repeat("k", 129) + "/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00", "is not 1 to 128 letters and digits"},
		{"AWS4-HMAC-SHA256 " + strings.Repeat("x", 9000), "longer than 8192 bytes"},
	} {
		c, err := parseAuthorization(tt.header)
		if err == nil || !strings.Contains(err.Error(), tt.want) || c != (credentialScope{}) {
			t.Errorf("%.80q: %+v, %v; want an error containing %q", tt.header, c, err, tt.want)
		}
	}
}

// FuzzAuthorization parses arbitrary Authorization headers: no panic, and
// what it accepts names a credential scope of valid parts, which the
// header rebuilt from them names again.
func FuzzAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=ASIAAAAAAAAAAAAAAAAB/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=00ff")
	f.Add("AWS4-HMAC-SHA256 Signature=0,SignedHeaders=a,Credential=test/20000229/x/y/aws4_request")
	f.Add("AWS4-HMAC-SHA256 Credential=k//us-east-1/ec2/aws4_request,,")
	f.Add("AWS4-HMAC-SHA256 Credential==/=/=/=/=, SignedHeaders==, Signature==")
	f.Fuzz(func(t *testing.T, header string) {
		c, err := parseAuthorization(header)
		if err != nil {
			if c != (credentialScope{}) {
				t.Fatalf("an error with a scope: %+v", c)
			}
			return
		}
		if c.accessKeyID == "" || !isAlnum(c.accessKeyID) || !isDate(c.date) || !isScopeName(c.region) || !isScopeName(c.service) {
			t.Fatalf("accepted an invalid scope %+v", c)
		}
		again := fmt.Sprintf("%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=host, Signature=00", sigV4Algorithm, c.accessKeyID, c.date, c.region, c.service)
		if c2, err := parseAuthorization(again); err != nil || c2 != c {
			t.Fatalf("rebuilt %q: %+v, %v", again, c2, err)
		}
	})
}
