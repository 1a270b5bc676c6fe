package account_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/imdsopts/imdsopts/account"
)

// TestResultsNameTheirTarget: every result of the package has its target's
// Account and Region first in its JSON, and printing a result prints the
// result, not only its target.
func TestResultsNameTheirTarget(t *testing.T) {
	tg := account.Target{Account: "111111111111", Region: "eu-west-1"}
	for name, r := range map[string]any{
		"Posture":        &account.Posture{Target: tg},
		"Readiness":      &account.Readiness{Target: tg},
		"DefaultsResult": &account.DefaultsResult{Target: tg},
		"TemplatePlan":   &account.TemplatePlan{Target: tg},
		"TemplateReport": &account.TemplateReport{Target: tg},
		"ImageReport":    &account.ImageReport{Target: tg},
	} {
		b, err := json.Marshal(r)
		if err != nil || !strings.HasPrefix(string(b), `{"Account":"111111111111","Region":"eu-west-1",`) || strings.Contains(string(b), `"Target"`) {
			t.Errorf("%s: JSON %s, %v, want Account and Region first and no Target member", name, b, err)
		}
		if s := fmt.Sprint(r); s == tg.String() || !strings.Contains(s, "111111111111") {
			t.Errorf("%s prints as %q, want the whole result", name, s)
		}
	}
	var zero account.Posture
	if b, err := json.Marshal(zero); err != nil || strings.Contains(string(b), `"Account"`) {
		t.Errorf("a result without a target: %s, %v, want no Account member", b, err)
	}
}
