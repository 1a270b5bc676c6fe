package awscli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type nested struct {
	HttpTokens *string `json:"HttpTokens"`
	Hop        *int32  `json:"HttpPutResponseHopLimit"`
}

type input struct {
	InstanceId *string  `json:"InstanceId"`
	DryRun     *bool    `json:"DryRun"`
	Count      int64    `json:"Count"`
	Ratio      *float64 `json:"Ratio"`
	Options    *nested  `json:"MetadataOptions"`
	List       []nested `json:"List"`
	Names      []string `json:"Names"`
	Untagged   string
	ignored    string // an unexported field is no member
}

func ptr[T any](v T) *T { return &v }

// --cli-input-json reads JSON as the AWS CLI does: exact member names,
// each once, no null, types named in errors.
func TestDecodeInput(t *testing.T) {
	tests := []struct {
		in      string
		want    input
		wantErr string
	}{
		{`{}`, input{}, ""},
		{` {"InstanceId": "i-1", "DryRun": false, "Count": 3, "Ratio": 0.5} `, input{InstanceId: ptr("i-1"), DryRun: ptr(false), Count: 3, Ratio: ptr(0.5)}, ""},
		{`{"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2}}`, input{Options: &nested{HttpTokens: ptr("required"), Hop: ptr[int32](2)}}, ""},
		{`{"List": [{"HttpTokens": "optional"}, {}], "Names": []}`, input{List: []nested{{HttpTokens: ptr("optional")}, {}}, Names: []string{}}, ""},
		// Names match exactly: encoding/json would take these for the members.
		{`{"instanceid": "i-1"}`, input{}, `unknown parameter in input: "instanceid", must be one of: InstanceId, DryRun, Count, Ratio, MetadataOptions, List, Names`},
		{`{"HttpTokens": "required", "InstanceId": "i-1"}`, input{}, `unknown parameter in input: "HttpTokens"`},
		{`{"MetadataOptions": {"httptokens": "optional"}}`, input{}, `unknown parameter in MetadataOptions: "httptokens", must be one of: HttpTokens, HttpPutResponseHopLimit`},
		{`{"List": [{}, {"Bogus": 1}]}`, input{}, `unknown parameter in List[1]: "Bogus"`},
		{`{"Untagged": "x"}`, input{}, `unknown parameter in input: "Untagged"`},
		{`{"ignored": "x"}`, input{}, `unknown parameter in input: "ignored"`},
		{`{"InstanceId": "i-1", "InstanceId": "i-2"}`, input{}, "parameter InstanceId given twice"},
		{`{"MetadataOptions": {"HttpTokens": "required", "HttpTokens": "optional"}}`, input{}, "parameter MetadataOptions.HttpTokens given twice"},
		{`{"InstanceId": null}`, input{}, "invalid type for parameter InstanceId, value: null, type: null, valid types: string"},
		{`{"MetadataOptions": null}`, input{}, "invalid type for parameter MetadataOptions, value: null, type: null, valid types: object"},
		{`{"Count": "2"}`, input{}, `invalid type for parameter Count, value: "2", type: string, valid types: integer`},
		{`{"Count": 2.5}`, input{}, "invalid type for parameter Count, value: 2.5, type: number, valid types: integer"},
		{`{"Count": 99999999999999999999}`, input{}, "invalid value for parameter Count: 99999999999999999999: out of range"},
		{`{"MetadataOptions": {"HttpPutResponseHopLimit": 4294967297}}`, input{}, "MetadataOptions.HttpPutResponseHopLimit: 4294967297: out of range"},
		{`{"DryRun": "true"}`, input{}, "valid types: boolean"},
		{`{"MetadataOptions": []}`, input{}, "invalid type for parameter MetadataOptions, value: [], type: array, valid types: object"},
		{`{"Names": "a"}`, input{}, "valid types: array"},
		{`{"InstanceId": "` + strings.Repeat("y", 1000) + `"}`, input{}, ""},
		{`{"Count": "` + strings.Repeat("z", 1000) + `"}`, input{}, "... (1002 bytes), type: string"},
		{`[]`, input{}, "must be a JSON object, not an array"},
		{`"x"`, input{}, "must be a JSON object, not a string"},
		{`null`, input{}, "must be a JSON object, not a null"},
		{`1`, input{}, "must be a JSON object, not a number"},
		{`{"InstanceId": "i-1"} {}`, input{}, "invalid JSON: more than one value"},
		{`{"InstanceId": "i-1"} x`, input{}, "invalid JSON: more than one value"},
		{`{"InstanceId": `, input{}, "invalid JSON"},
		{``, input{}, "invalid JSON"},
	}
	for _, tt := range tests {
		var got input
		err := DecodeInput([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%.80q: %v; want error with %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%.80q: %v", tt.in, err)
			continue
		}
		if got.ignored != "" {
			t.Errorf("%.80q: set an unexported field", tt.in)
		}
		if strings.Contains(tt.in, "yyyy") {
			tt.want.InstanceId = ptr(strings.Repeat("y", 1000))
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(input{})); diff != "" {
			t.Errorf("%.80q (-want +got):\n%s", tt.in, diff)
		}
	}
	if err := DecodeInput([]byte(`{}`), input{}); err == nil {
		t.Error("a non-pointer dst: no error")
	}
}

// Whatever the document, DecodeInput neither panics nor sets a field from a
// member whose name differs from the field's tag; an accepted document
// decodes to what encoding/json decodes it to, when encoding/json accepts it.
func FuzzDecodeInput(f *testing.F) {
	for _, s := range []string{`{}`, `{"InstanceId":"i-1","HttpTokens":"required"}`, `{"InstanceId":"i-1","instanceid":"i-2"}`, `{"MetadataOptions":{"HttpTokens":"optional"}}`,
		`{"List":[{"HttpPutResponseHopLimit":2}]}`, `{"Count":1e3}`, `[]`, `null`, `{"InstanceId":"i-1"}{}`, `{"Names":["a",null]}`, `{"DryRun":true}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got input
		if err := DecodeInput([]byte(s), &got); err != nil {
			return
		}
		for _, k := range []string{"instanceid", "INSTANCEID", "dryrun", "httptokens"} {
			if strings.Contains(s, `"`+k+`"`) {
				t.Fatalf("%q: accepted a member named %q", s, k)
			}
		}
		var want input
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("%q: accepted, but encoding/json refuses it: %v", s, err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(input{})); diff != "" {
			t.Fatalf("%q: differs from encoding/json (-json +DecodeInput):\n%s", s, diff)
		}
	})
}

func TestLoadParam(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "in.json")
	if err := os.WriteFile(path, []byte(`{"A": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value, stdin, want string
	}{
		{`{"A": 2}`, "", `{"A": 2}`},
		{"file://" + path, "", `{"A": 1}`},
		{"fileb://" + path, "", `{"A": 1}`},
		{"-", `{"A": 3}`, `{"A": 3}`},
	} {
		got, err := LoadParam(ctx, tt.value, strings.NewReader(tt.stdin))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.value, got, err, tt.want)
		}
	}

	// Missing files, and what grows without bound, are errors that echo the
	// path shortened.
	long := "file://" + filepath.Join(dir, strings.Repeat("n", 5000))
	large := filepath.Join(dir, "large.json")
	if err := os.WriteFile(large, make([]byte, MaxParamSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value, stdin, want string
	}{
		{"file://" + filepath.Join(dir, "none.json"), "", "unable to load"},
		{long, "", "unable to load"},
		{"file:///dev/zero", "", `unable to load "file:///dev/zero": must be a regular file, not a device`},
		{"file://" + dir, "", "must be a regular file, not a directory"},
		{"file://" + large, "", `: more than 1 MiB`},
		{"-", strings.Repeat(" ", MaxParamSize+1), `"-": more than 1 MiB`},
		{strings.Repeat("{", MaxParamSize+1), "", "more than 1 MiB"},
	} {
		got, err := LoadParam(ctx, tt.value, strings.NewReader(tt.stdin))
		if err == nil || !strings.Contains(err.Error(), tt.want) || len(err.Error()) > 300 {
			t.Errorf("%.60s: %d bytes, error %.400q; want %q", tt.value, len(got), err, tt.want)
		}
	}
	if _, err := LoadParam(ctx, "-", nil); err == nil {
		t.Error("no stdin: no error")
	}

	// Standard input that nobody writes to: the context ends the wait.
	r, w := io.Pipe()
	defer w.Close()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := LoadParam(cctx, "-", r); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
