package fake

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// InMemoryConfig returns an SDK configuration whose clients send every
// request to h in the calling goroutine, without a network: Region
// us-east-1, the static credentials [ManagementAccessKeyID]/"test"
// (signatures are not verified), a BaseEndpoint that names no host, and
// an HTTP client that calls h.ServeHTTP and answers what h writes.
// ec2.NewFromConfig, sts.NewFromConfig and the other clients make clients
// of it, with the SDK's own serializers, retries and credential
// providers (stscreds included).
//
// Unlike a [Server], it works inside a testing/synctest bubble, where
// waiting on a network connection would not let the bubble's clock
// advance: the SDK's retry delays and the expiry of credentials then cost
// no real time. Copy the configuration to change its Region or
// Credentials.
func InMemoryConfig(h http.Handler) aws.Config {
	return aws.Config{
		Region:       defaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(ManagementAccessKeyID, "test", ""),
		BaseEndpoint: aws.String("http://emulator.invalid"),
		HTTPClient:   inMemoryClient{h},
	}
}

// inMemoryClient is an aws.HTTPClient that answers each request with h.
type inMemoryClient struct{ h http.Handler }

func (c inMemoryClient) Do(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	w := &responseRecorder{header: http.Header{}}
	c.h.ServeHTTP(w, r)
	if r.Body != nil {
		r.Body.Close()
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// responseRecorder is the http.ResponseWriter of inMemoryClient.
type responseRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseRecorder) Header() http.Header { return w.header }

func (w *responseRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
