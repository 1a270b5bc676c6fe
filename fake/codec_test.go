package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
)

// The codec tests fill every member of every input and output structure of
// the operations served with a distinct value, and pass it through the
// real SDK client on one side and the handler's codecs on the other: what
// the SDK sends must decode to the same input, and what the handler answers
// must decode, by the SDK, to the same output. They cover members the fakes
// never set, so an operation added to the dispatch table is checked whole.

// filler sets values that differ from member to member.
type filler struct{ n int }

func (f *filler) fill(v reflect.Value, depth int) {
	t := v.Type()
	f.n++
	switch {
	case t.Kind() == reflect.Pointer:
		if depth > 5 && isStruct(t.Elem()) {
			return
		}
		p := reflect.New(t.Elem())
		f.fill(p.Elem(), depth+1)
		if isStruct(t.Elem()) && p.Elem().IsZero() {
			return // the depth limit left it empty: the protocols cannot tell an empty structure from none
		}
		v.Set(p)
	case t == timeType:
		v.Set(reflect.ValueOf(time.Unix(1700000000+int64(f.n)*61, 0).UTC()))
	case t == bytesType:
		v.SetBytes([]byte(fmt.Sprintf("blob %d", f.n)))
	case isStruct(t):
		for _, m := range members(t) {
			f.fill(v.Field(m.index), depth+1)
		}
	case isList(t):
		if depth > 5 && isStruct(t.Elem()) {
			return
		}
		s := reflect.MakeSlice(t, 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case t.Kind() == reflect.String:
		v.SetString(fmt.Sprintf("v%d", f.n))
	case t.Kind() == reflect.Bool:
		v.SetBool(f.n%2 == 0)
	case t.Kind() == reflect.Int32 || t.Kind() == reflect.Int64 || t.Kind() == reflect.Int:
		v.SetInt(int64(f.n))
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		v.SetFloat(float64(f.n) + 0.5)
	}
}

// roundTrip is an SDK HTTP client that hands each request to serve.
type roundTrip func(*http.Request) *http.Response

func (rt roundTrip) Do(r *http.Request) (*http.Response, error) { return rt(r), nil }

func response(status int, header http.Header, body []byte) *http.Response {
	return &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

// sdkOnly compares SDK structures on their API members.
var sdkOnly = cmp.Options{
	cmp.FilterPath(func(p cmp.Path) bool {
		sf, ok := p.Last().(cmp.StructField)
		if !ok {
			return false
		}
		name := sf.Name()
		return name == "ResultMetadata" || name[:1] == strings.ToLower(name[:1])
	}, cmp.Ignore()),
}

func testConfig(rt roundTrip) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   rt,
		BaseEndpoint: aws.String("http://emulator.test"),
		// One attempt: an answer the SDK cannot decode is not retried.
		RetryMaxAttempts: 1,
	}
}

// callSDK calls the method of client named op with in.
func callSDK(client any, op string, in reflect.Value) (reflect.Value, error) {
	res := reflect.ValueOf(client).MethodByName(op).Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
	err, _ := res[1].Interface().(error)
	return res[0], err
}

// queryClients are the SDK clients of the services the handler serves in
// a Query protocol.
var queryClients = []struct {
	svc    *service
	client func(aws.Config) any
}{
	{ec2Service, func(cfg aws.Config) any { return ec2.NewFromConfig(cfg) }},
	{autoScalingService, func(cfg aws.Config) any { return autoscaling.NewFromConfig(cfg) }},
	{stsServiceDef, func(cfg aws.Config) any { return sts.NewFromConfig(cfg) }},
}

func TestQueryCodecRoundTripsEveryMember(t *testing.T) {
	for _, c := range queryClients {
		for name, op := range c.svc.ops {
			t.Run(c.svc.name+"/"+name, func(t *testing.T) {
				f := &filler{}
				want := reflect.New(op.input)
				f.fill(want.Elem(), 0)
				wantOut := reflect.New(op.output)
				f.fill(wantOut.Elem(), 0)

				var got reflect.Value
				client := c.client(testConfig(func(r *http.Request) *http.Response {
					body, _ := io.ReadAll(r.Body)
					form, err := url.ParseQuery(string(body))
					if err != nil {
						t.Fatalf("the SDK sent a body that is not a form: %v", err)
					}
					if a, v := form.Get("Action"), form.Get("Version"); a != name || v != c.svc.version {
						t.Errorf("Action %q Version %q", a, v)
					}
					root, err := parseQuery(form)
					if err != nil {
						t.Fatal(err)
					}
					root.take("Action")
					root.take("Version")
					got = reflect.New(op.input)
					if err := decodeQuery(c.svc.style, root, got); err != nil {
						t.Errorf("decode: %v", err)
					}
					return response(200, xmlHeader("r-1"), encodeXMLAnswer(c.svc, name, "r-1", wantOut))
				}))

				out, err := callSDK(client, name, want)
				if err != nil {
					t.Fatalf("SDK: %v", err)
				}
				if diff := cmp.Diff(want.Interface(), got.Interface(), sdkOnly); diff != "" {
					t.Errorf("decoded input differs from what the SDK sent (-sent +decoded):\n%s", diff)
				}
				if diff := cmp.Diff(wantOut.Interface(), out.Interface(), sdkOnly); diff != "" {
					t.Errorf("the SDK decoded another output than the handler encoded (-encoded +decoded):\n%s", diff)
				}
			})
		}
	}
}

func TestCBORCodecRoundTripsEveryMember(t *testing.T) {
	for name, op := range cloudWatchService.ops {
		t.Run(name, func(t *testing.T) {
			f := &filler{}
			want := reflect.New(op.input)
			f.fill(want.Elem(), 0)
			wantOut := reflect.New(op.output)
			f.fill(wantOut.Elem(), 0)

			var got reflect.Value
			client := cloudwatch.NewFromConfig(testConfig(func(r *http.Request) *http.Response {
				if p := r.URL.Path; p != "/service/"+cloudWatchServiceName+"/operation/"+name {
					t.Errorf("path %s", p)
				}
				body, _ := io.ReadAll(r.Body)
				got = reflect.New(op.input)
				if err := unmarshalDocument(cborDoc, body, got); err != nil {
					t.Errorf("decode: %v", err)
				}
				b, err := marshalDocument(cborDoc, wantOut)
				if err != nil {
					t.Fatal(err)
				}
				return response(200, documentHeader(cborDoc, cloudWatchService, "r-1"), b)
			}))

			out, err := callSDK(client, name, want)
			if err != nil {
				t.Fatalf("SDK: %v", err)
			}
			if diff := cmp.Diff(want.Interface(), got.Interface(), sdkOnly); diff != "" {
				t.Errorf("decoded input differs from what the SDK sent (-sent +decoded):\n%s", diff)
			}
			if diff := cmp.Diff(wantOut.Interface(), out.Interface(), sdkOnly); diff != "" {
				t.Errorf("the SDK decoded another output than the handler encoded (-encoded +decoded):\n%s", diff)
			}
		})
	}
}

// Organizations speaks awsJson1_1: its SDK client sends what the JSON codec
// decodes, and decodes what it encodes.
func TestJSONCodecRoundTripsOrganizations(t *testing.T) {
	for name, op := range organizationsService.ops {
		t.Run(name, func(t *testing.T) {
			f := &filler{}
			want := reflect.New(op.input)
			f.fill(want.Elem(), 0)
			wantOut := reflect.New(op.output)
			f.fill(wantOut.Elem(), 0)

			var got reflect.Value
			client := organizations.NewFromConfig(testConfig(func(r *http.Request) *http.Response {
				if tg, ct := r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"); tg != organizationsTargetName+"."+name || ct != "application/x-amz-json-1.1" {
					t.Errorf("X-Amz-Target %q, Content-Type %q", tg, ct)
				}
				body, _ := io.ReadAll(r.Body)
				got = reflect.New(op.input)
				if err := unmarshalDocument(jsonDoc, body, got); err != nil {
					t.Errorf("decode: %v", err)
				}
				b, err := marshalDocument(jsonDoc, wantOut)
				if err != nil {
					t.Fatal(err)
				}
				return response(200, documentHeader(jsonDoc, organizationsService, "r-1"), b)
			}))
			out, err := callSDK(client, name, want)
			if err != nil {
				t.Fatalf("SDK: %v", err)
			}
			if diff := cmp.Diff(want.Interface(), got.Interface(), sdkOnly); diff != "" {
				t.Errorf("decoded input differs from what the SDK sent (-sent +decoded):\n%s", diff)
			}
			if diff := cmp.Diff(wantOut.Interface(), out.Interface(), sdkOnly); diff != "" {
				t.Errorf("the SDK decoded another output than the handler encoded (-encoded +decoded):\n%s", diff)
			}
		})
	}
}

// CloudWatch's JSON codec has no Go client (the SDK speaks CBOR to
// CloudWatch); its round trip goes through encoding/json, and the AWS CLI
// tests it on the wire.
func TestJSONCodecRoundTripsEveryMember(t *testing.T) {
	for name, op := range cloudWatchService.ops {
		for _, typ := range []reflect.Type{op.input, op.output} {
			t.Run(name+"/"+typ.Name(), func(t *testing.T) {
				want := reflect.New(typ)
				(&filler{}).fill(want.Elem(), 0)
				b, err := marshalDocument(jsonDoc, want)
				if err != nil {
					t.Fatal(err)
				}
				got := reflect.New(typ)
				if err := unmarshalDocument(jsonDoc, b, got); err != nil {
					t.Fatalf("%v\n%s", err, b)
				}
				if diff := cmp.Diff(want.Interface(), got.Interface(), sdkOnly); diff != "" {
					t.Errorf("(-encoded +decoded):\n%s", diff)
				}
			})
		}
	}
}

// FuzzQueryDecode decodes arbitrary query strings into the input of every
// operation served: no panic, and every refusal is a protocol error.
func FuzzQueryDecode(f *testing.F) {
	f.Add("InstanceId.1=i-1&Filter.1.Name=a&Filter.1.Value.2=b&MaxResults=5&DryRun=TRUE")
	f.Add("MetadataOptions.HttpPutResponseHopLimit=99999999999&TagSpecification.1.Tag.1.Key=&BlockDeviceMapping.1.Ebs.VolumeSize=x")
	f.Add("MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=n&StartTime=1e300&MetricDataQueries=")
	f.Add("a..b=1&.=2&InstanceId.01=x&InstanceId.1.x=y&MaxResults.1=3")
	f.Fuzz(func(t *testing.T, query string) {
		values, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		for _, svc := range services {
			for _, op := range svc.ops {
				root, err := parseQuery(values)
				if err == nil {
					err = decodeQuery(svc.style, root, reflect.New(op.input))
				}
				var pe *protocolError
				if err != nil && !errors.As(err, &pe) {
					t.Fatalf("%s: %v is not a protocol error", op.name, err)
				}
			}
		}
	})
}

// FuzzDocumentDecode decodes arbitrary JSON and CBOR bodies into the input
// of every operation served in those protocols (CloudWatch's and
// Organizations'): no panic, and every refusal is a protocol error.
func FuzzDocumentDecode(f *testing.F) {
	f.Add(false, []byte(`{"MaxResults": 5, "NextToken": "x"}`))
	f.Add(false, []byte(`{"MaxResults": 1e400, "NextToken": ["x"]}`))
	f.Add(false, []byte(`{"StartTime": 1, "MetricDataQueries": [{"Id": "a", "MetricStat": {"Period": 60, "Metric": {"Dimensions": [{}]}}}]}`))
	f.Add(true, []byte("\xa2jMaxResults\x05iNextTokenax"))
	f.Add(true, []byte("\xa1iStartTime\xc1\xfb\x7f\xf0\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, cbor bool, body []byte) {
		format := jsonDoc
		if cbor {
			format = cborDoc
		}
		for _, svc := range services {
			if svc.target == "" {
				continue
			}
			for _, op := range svc.ops {
				err := unmarshalDocument(format, body, reflect.New(op.input))
				var pe *protocolError
				if err != nil && !errors.As(err, &pe) {
					t.Fatalf("%s: %v is not a protocol error", op.name, err)
				}
			}
		}
	})
}
