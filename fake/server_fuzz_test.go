package fake_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/fxamacker/cbor/v2"

	"github.com/imdsopts/imdsopts/fake"
)

// FuzzHandler sends arbitrary requests of every protocol to a handler with
// a few instances: it must answer each one, never by recovering from a
// panic, with a status, a request ID, and a body that parses in the
// protocol's format.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(1), "/", "", "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:a&Filter.1.Value.1=*")
	f.Add(uint8(1), "/", "", "Action=ModifyInstanceMetadataOptions&Version=2016-11-15&InstanceId=self&HttpPutResponseHopLimit=65")
	f.Add(uint8(1), "/", "", "Action=RunInstances&Version=2016-11-15&ImageId=img&MinCount=1&MaxCount=2&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=k&MetadataOptions.HttpTokens=required")
	f.Add(uint8(0), "/?Action=DescribeImages&Version=2016-11-15&ImageId.1=img", "", "")
	f.Add(uint8(1), "/", "", "Action=GetMetricData&Version=2010-08-01&MetricDataQueries.member.1.Id=q&StartTime=2025-01-01T00:00:00Z&EndTime=1735700000")
	f.Add(uint8(2), "/", "GraniteServiceVersion20100801.GetMetricData", `{"StartTime":1,"EndTime":2,"MetricDataQueries":[{"Id":"a","MetricStat":{"Period":60}}]}`)
	f.Add(uint8(3), "/service/GraniteServiceVersion20100801/operation/GetMetricData", "", "\xa2iStartTime\xc1\x01gEndTime\xc1\xfb@\x00\x00\x00\x00\x00\x00\x00")
	f.Add(uint8(1), "/", "", "Action=DescribeInstances&Version=2016-11-15&InstanceId.99999=x&%zz")
	f.Add(uint8(1), "/", "", "Action=CreateLaunchTemplate&Version=2016-11-15&LaunchTemplateName=web&LaunchTemplateData.ImageId=img&LaunchTemplateData.MetadataOptions.HttpTokens=optional")
	f.Add(uint8(1), "/", "", "Action=ModifyImageAttribute&Version=2016-11-15&ImageId=img&ImdsSupport.Value=v2.0")
	f.Add(uint8(1), "/", "", "Action=CreateAutoScalingGroup&Version=2011-01-01&AutoScalingGroupName=g&MinSize=0&MaxSize=2&DesiredCapacity=1&LaunchConfigurationName=c&AvailabilityZones.member.1=us-east-1a")
	f.Add(uint8(1), "/", "", "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=g&MaxRecords=1&Filters.member.1.Values.member.1=x")
	f.Fuzz(func(t *testing.T, kind uint8, target, header, body string) {
		ec2 := fake.New()
		img := register(t, ec2, "img", "v2.0")
		self := instanceIDs(launch(t, ec2, img, 2))[0]
		body = strings.ReplaceAll(strings.ReplaceAll(body, "=self", "="+self), "=img", "="+img)
		var rec fake.RequestRecord
		h := fake.NewHandler(ec2, func(o *fake.HandlerOptions) {
			o.CloudWatch = fake.NewCloudWatch()
			o.AutoScaling = fake.NewAutoScaling(ec2)
			o.MaxBodyBytes = 1 << 12
			o.OnRequest = func(r fake.RequestRecord) { rec = r }
		})
		method := []string{"GET", "POST", "POST", "POST", "PUT"}[kind%5]
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		r, err := http.NewRequest(method, "http://emulator.test"+target, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		switch kind % 5 {
		case 1:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 2:
			r.Header.Set("X-Amz-Target", header)
		case 3:
			r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		resp := w.Result()
		got, _ := io.ReadAll(resp.Body)
		if rec.ErrorCode == "InternalFailure" {
			t.Fatalf("the handler recovered from a panic: %s", got)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 || resp.StatusCode != rec.Status {
			t.Fatalf("status %d, recorded %d", resp.StatusCode, rec.Status)
		}
		if resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("no request ID: %v", resp.Header)
		}
		if (resp.StatusCode >= 300) != (rec.ErrorCode != "") {
			t.Fatalf("status %d with error code %q", resp.StatusCode, rec.ErrorCode)
		}
		switch ct := resp.Header.Get("Content-Type"); ct {
		case "application/cbor":
			var v any
			if err := cbor.Unmarshal(got, &v); err != nil {
				t.Fatalf("answer is not CBOR: %v", err)
			}
		case "application/x-amz-json-1.0":
			if !json.Valid(got) {
				t.Fatalf("answer is not JSON: %q", got)
			}
		default:
			d := xml.NewDecoder(bytes.NewReader(got))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("answer is not XML: %v\n%q", err, got)
				}
			}
		}
	})
}

// FuzzOrganizationHandler sends arbitrary signed requests to a handler
// that serves an organisation: routing by the Authorization header never
// panics, and every request is answered with a status, a request ID and a
// body in the protocol's format. LIVE in a header stands for the key of a
// live session of an account, whose token the request then carries.
func FuzzOrganizationHandler(f *testing.F) {
	f.Add(uint8(1), authorization("LIVE", "eu-west-1", "ec2"), "", "Action=DescribeInstances&Version=2016-11-15")
	f.Add(uint8(1), authorization("test", "us-east-1", "sts"), "", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::222222222222:role/Admin&RoleSessionName=s")
	f.Add(uint8(1), authorization("LIVE", "af-south-1", "autoscaling"), "", "Action=DescribeAutoScalingGroups&Version=2011-01-01")
	f.Add(uint8(2), authorization("test", "us-east-1", "organizations"), "AWSOrganizationsV20161128.ListAccounts", `{"MaxResults": 2}`)
	f.Add(uint8(2), authorization("LIVE", "us-east-1", "monitoring"), "GraniteServiceVersion20100801.GetMetricData", `{}`)
	f.Add(uint8(3), authorization("LIVE", "us-west-2", "monitoring"), "", "\xa0")
	f.Add(uint8(1), "AWS4-HMAC-SHA256 Credential=LIVE/20260101/eu-west-1/ec2/aws4_request", "", "Action=DescribeRegions&Version=2016-11-15&AllRegions=true")
	f.Fuzz(func(t *testing.T, kind uint8, auth, target, body string) {
		org := newOrg(t)
		live, err := org.STS().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + devID + ":role/Admin"), RoleSessionName: aws.String("fuzz")})
		if err != nil {
			t.Fatal(err)
		}
		auth = strings.ReplaceAll(auth, "LIVE", aws.ToString(live.Credentials.AccessKeyId))
		var rec fake.RequestRecord
		h := orgHandler(org, func(o *fake.HandlerOptions) {
			o.MaxBodyBytes = 1 << 12
			o.OnRequest = func(r fake.RequestRecord) { rec = r }
		})
		path := "/"
		if kind%4 == 3 {
			path = "/service/GraniteServiceVersion20100801/operation/GetMetricData"
		}
		r, err := http.NewRequest("POST", "http://emulator.test"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		r.Header.Set("Authorization", auth)
		if r.Header.Get("Authorization") != auth {
			return // not a header a client can send
		}
		if strings.Contains(auth, aws.ToString(live.Credentials.AccessKeyId)) {
			r.Header.Set("X-Amz-Security-Token", aws.ToString(live.Credentials.SessionToken))
		}
		switch kind % 4 {
		case 1:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case 2:
			r.Header.Set("X-Amz-Target", target)
		case 3:
			r.Header.Set("Smithy-Protocol", "rpc-v2-cbor")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		resp := w.Result()
		got, _ := io.ReadAll(resp.Body)
		if rec.ErrorCode == "InternalFailure" {
			t.Fatalf("the handler recovered from a panic: %s", got)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 || resp.StatusCode != rec.Status || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Fatalf("status %d, recorded %d, headers %v", resp.StatusCode, rec.Status, resp.Header)
		}
		if rec.Account != "" && rec.Account != mgmtID && rec.Account != devID {
			t.Fatalf("routed to account %q", rec.Account)
		}
		switch resp.Header.Get("Content-Type") {
		case "application/cbor":
			var v any
			if err := cbor.Unmarshal(got, &v); err != nil {
				t.Fatalf("answer is not CBOR: %v", err)
			}
		case "application/x-amz-json-1.0", "application/x-amz-json-1.1":
			if !json.Valid(got) {
				t.Fatalf("answer is not JSON: %q", got)
			}
		default:
			d := xml.NewDecoder(bytes.NewReader(got))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("answer is not XML: %v\n%q", err, got)
				}
			}
		}
	})
}
