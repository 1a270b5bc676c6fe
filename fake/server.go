package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
)

// Error codes the handler answers for requests it cannot hand to an
// operation.
const (
	codeUnknownParameter = "UnknownParameter"
	codeInvalidAction    = "InvalidAction"
	codeMissingAction    = "MissingAction"
	codeNoSuchVersion    = "NoSuchVersion"
	codeMalformedQuery   = "MalformedQueryString"
	codeTooLarge         = "RequestEntityTooLarge"
	codeUnknownOperation = "UnknownOperationException"
	codeSerialization    = "SerializationException"
	codeInternal         = "InternalError"
	codeHandlerPanic     = "InternalFailure"
	defaultMaxBody       = 1 << 20
)

// HandlerOptions configures the handler NewHandler returns.
type HandlerOptions struct {
	// CloudWatch, when set, is served too: GetMetricData in the protocols
	// the AWS SDKs and CLIs use. Without it, CloudWatch requests are
	// answered as unknown operations.
	CloudWatch *CloudWatch

	// AutoScaling, when set, is served too, in the AWS Query protocol
	// (Version=2011-01-01) that the AWS SDKs and CLIs speak to EC2 Auto
	// Scaling. Without it, Auto Scaling requests are answered
	// InvalidAction.
	AutoScaling *AutoScaling

	// Organization, when set, is served too: each request signed with
	// SigV4 goes to the account its access key belongs to
	// ([ManagementAccessKeyID] for the management account, the keys
	// [STS.AssumeRole] answers, with their session tokens in
	// X-Amz-Security-Token, for the accounts of the roles) and to the
	// Region of its credential scope, where that account/Region's EC2,
	// CloudWatch and AutoScaling fakes answer it; STS (AssumeRole and
	// GetCallerIdentity, in the AWS Query protocol, Version=2011-06-15) and
	// Organizations (ListAccounts, in awsJson1_1) answer as the key's
	// caller. Requests without an Authorization header are still served
	// by the EC2 given to NewHandler and by CloudWatch and AutoScaling
	// above (pass the services of one of the organisation's Regions, see
	// [Region]), and by STS and Organizations as the management account's
	// user. A request whose credentials do not reach an account/Region
	// (unknown or expired key, account removed, Region not enabled) is
	// answered as the service answers it; see the package documentation.
	// Without an Organization, the Authorization header is not read.
	Organization *Organization

	// MaxBodyBytes bounds the size of a request body. A larger body is
	// refused with HTTP 413 and the error code RequestEntityTooLarge, in
	// the error shape of the request's protocol, before it is read further.
	// NewHandler pre-fills it with 1 MiB before the option functions run; 0
	// or less means no limit.
	MaxBodyBytes int64

	// OnRequest, when set, is called once for every request after its answer
	// is written. It is called from the request's goroutine, so for
	// concurrent requests concurrently.
	OnRequest func(RequestRecord)
}

// RequestRecord describes one request the handler answered, for
// HandlerOptions.OnRequest.
type RequestRecord struct {
	// Time is when the request arrived.
	Time time.Time
	// Protocol is "query", "json" or "cbor".
	Protocol string
	// Service is "EC2", "CloudWatch", "Auto Scaling", "STS" or
	// "Organizations", or empty when the request named no service the
	// handler knows.
	Service string
	// Account and Region are the account and Region the request reached:
	// with HandlerOptions.Organization, those of its signature (for STS
	// and Organizations, the caller's account and the scope's Region),
	// else those of the EC2 fake served. They are empty when the request
	// reached none.
	Account, Region string
	// Action is the operation asked for, as the request named it (cut to
	// 64 bytes), or empty.
	Action string
	// Status is the HTTP status of the answer.
	Status int
	// ErrorCode is the error code of the answer, or empty for a success.
	ErrorCode string
	// Duration is how long the request took to answer.
	Duration time.Duration
}

// handler serves an EC2 fake, and optionally CloudWatch and Auto Scaling
// fakes and an Organization, over HTTP.
type handler struct {
	def      target // the fakes of requests the Organization does not route
	org      *Organization
	opts     HandlerOptions
	requests atomic.Uint64
}

// NewHandler returns an http.Handler that serves f to the AWS SDKs and the
// AWS CLI as EC2 would: the EC2 Query protocol (form-encoded
// Action=…&Version=2016-11-15, by POST or GET) for every operation the fake
// models, answered in EC2's XML shapes, errors included (<Response><Errors>
// <Error><Code>…, with the HTTP status of the fake's error). With
// HandlerOptions.CloudWatch it serves CloudWatch's GetMetricData on the same
// endpoint, in the three protocols clients speak: Smithy RPC v2 CBOR (the
// AWS SDK for Go v2), awsJson1_0 (the AWS CLI v1), and the AWS Query protocol
// (Version=2010-08-01, XML answers). With HandlerOptions.AutoScaling it
// serves EC2 Auto Scaling in the AWS Query protocol (Version=2011-01-01),
// with its XML answers (<ActionResponse><ActionResult>…) and errors
// (<ErrorResponse><Error><Type>…). With HandlerOptions.Organization it
// serves every account and Region of the organisation, and STS (AWS Query,
// Version=2011-06-15) and Organizations (awsJson1_1, X-Amz-Target
// AWSOrganizationsV20161128.ListAccounts).
//
// Each request is routed by its protocol: a path under /service/ is RPC v2
// CBOR, an X-Amz-Target header is JSON, anything else is the Query protocol,
// whose Version names the service. With an Organization, a request with an
// Authorization header then goes to the account and Region its signature
// names (see HandlerOptions.Organization). Request parameters are decoded
// into the SDK's input structure of the operation and handed to the fake's
// method of that name; the fake's answer or error is encoded as the
// service answers.
//
// Signatures are not verified, and requests without an Authorization header
// are served too. Malformed requests get the service's error shapes: an
// unknown Action is InvalidAction, a missing one MissingAction, a missing
// Version MissingParameter and an unknown one NoSuchVersion, a parameter the
// operation does not have UnknownParameter, a value of the wrong type
// InvalidParameterValue, a form that cannot be parsed MalformedQueryString
// (HTTP 404, as AWS documents it), a JSON or CBOR body that cannot be parsed
// SerializationException, and an unknown JSON or CBOR operation
// UnknownOperationException. The codes for a missing or unknown Version and
// for a body over the size limit are not documented by EC2 and are
// unverified.
//
// A nil f is not served: EC2 requests are answered InvalidAction. The
// handler is safe for concurrent use, as the fakes are.
func NewHandler(f *EC2, optFns ...func(*HandlerOptions)) http.Handler {
	opts := HandlerOptions{MaxBodyBytes: defaultMaxBody}
	for _, fn := range optFns {
		if fn != nil {
			fn(&opts)
		}
	}
	h := &handler{def: target{ec2: f, cw: opts.CloudWatch, as: opts.AutoScaling}, org: opts.Organization, opts: opts}
	if h.org != nil {
		h.def.sts, h.def.orgs = h.org.STS(), h.org.Organizations()
	}
	return h
}

// protocol is the wire protocol of a request.
type protocol string

const (
	protoQuery protocol = "query"
	protoJSON  protocol = "json"
	protoCBOR  protocol = "cbor"
)

// answer is a response to write.
type answer struct {
	status int
	header http.Header
	body   []byte
	code   string // error code, or empty
}

// ServeHTTP answers one request; see NewHandler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := RequestRecord{Time: time.Now()}
	a := h.answerSafely(r, &rec)
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	w.Write(a.body)
	if h.opts.OnRequest != nil {
		rec.Status, rec.ErrorCode, rec.Duration = a.status, a.code, time.Since(rec.Time)
		h.opts.OnRequest(rec)
	}
}

// answerSafely answers r; a panic while answering (a defect of the handler
// or a fake) becomes an InternalFailure answer instead of a dropped
// connection.
func (h *handler) answerSafely(r *http.Request, rec *RequestRecord) (a answer) {
	p := protocolOf(r)
	rec.Protocol = string(p)
	defer func() {
		if v := recover(); v != nil {
			a = h.failure(p, ec2Service, 500, codeHandlerPanic, fmt.Sprintf("the emulator failed to answer: %v", v), "")
		}
	}()
	return h.answer(r, p, rec)
}

// protocolOf tells the protocol of a request from its path and headers.
func protocolOf(r *http.Request) protocol {
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/") || r.Header.Get("Smithy-Protocol") != "":
		return protoCBOR
	case r.Header.Get("X-Amz-Target") != "":
		return protoJSON
	}
	return protoQuery
}

func (h *handler) answer(r *http.Request, p protocol, rec *RequestRecord) answer {
	body, tooLarge, err := h.readBody(r)
	switch p {
	case protoCBOR:
		svc, op, found := h.rpcOperation(strings.TrimPrefix(r.URL.Path, "/service/"), "/operation/", true, rec)
		if tooLarge || err != nil {
			return h.bodyFailure(p, svc, tooLarge, err)
		}
		t, refused := h.route(r, p, svc, rec)
		if t == nil {
			return refused
		}
		if !found {
			return h.failure(p, svc, 404, codeUnknownOperation, fmt.Sprintf("The operation %s is not served here.", quoteParam(r.URL.Path)), "")
		}
		return h.document(r.Context(), cborDoc, svc, op, t, body)
	case protoJSON:
		svc, op, found := h.rpcOperation(r.Header.Get("X-Amz-Target"), ".", false, rec)
		if tooLarge || err != nil {
			return h.bodyFailure(p, svc, tooLarge, err)
		}
		t, refused := h.route(r, p, svc, rec)
		if t == nil {
			return refused
		}
		if !found {
			return h.failure(p, svc, 400, codeUnknownOperation, fmt.Sprintf("The operation %s is not served here.", quoteParam(r.Header.Get("X-Amz-Target"))), "")
		}
		return h.document(r.Context(), jsonDoc, svc, op, t, body)
	}
	if tooLarge || err != nil {
		return h.bodyFailure(p, ec2Service, tooLarge, err)
	}
	return h.query(r, body, rec)
}

// readBody reads the request body up to the size limit; tooLarge reports a
// body over it.
func (h *handler) readBody(r *http.Request) (body []byte, tooLarge bool, err error) {
	max := h.opts.MaxBodyBytes
	if max > 0 && r.ContentLength > max {
		return nil, true, nil
	}
	rd := io.Reader(r.Body)
	if max > 0 {
		rd = io.LimitReader(r.Body, max+1)
	}
	body, err = io.ReadAll(rd)
	if err != nil {
		return nil, false, err
	}
	if max > 0 && int64(len(body)) > max {
		return nil, true, nil
	}
	return body, false, nil
}

func (h *handler) bodyFailure(p protocol, svc *service, tooLarge bool, err error) answer {
	if tooLarge {
		return h.failure(p, svc, http.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("The request body is larger than the limit of %d bytes.", h.opts.MaxBodyBytes), "")
	}
	return h.failure(p, svc, 400, codeMalformedQuery, fmt.Sprintf("The request body could not be read: %s", echo(err.Error())), "")
}

// rpcOperation finds the operation named by "Service<sep>Operation" (an
// X-Amz-Target header, or the rest of an RPC v2 path when cbor is set).
// svc is the service named, or CloudWatch when none matches, for the shape
// of an error.
func (h *handler) rpcOperation(s, sep string, cbor bool, rec *RequestRecord) (svc *service, op operation, found bool) {
	name, action, _ := strings.Cut(s, sep)
	rec.Action = echo(action)
	svc = cloudWatchService
	for _, c := range services {
		if c.target != "" && c.target == name && (c.cbor || !cbor) {
			svc = c
		}
	}
	if svc.target != name {
		return svc, operation{}, false
	}
	rec.Service = svc.name
	op, found = svc.ops[action]
	return svc, op, found
}

// query answers a request of the AWS Query protocol.
func (h *handler) query(r *http.Request, body []byte, rec *RequestRecord) answer {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return h.failure(protoQuery, ec2Service, 404, codeMalformedQuery, "The query string contains a syntax error: "+echo(err.Error()), "")
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return h.failure(protoQuery, ec2Service, 404, codeMalformedQuery, "The request body is not a valid form: "+echo(err.Error()), "")
		}
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	root, err := parseQuery(params)
	if err != nil {
		return h.errorAnswer(protoQuery, ec2Service, err)
	}
	action, hasAction := root.take("Action")
	version, hasVersion := root.take("Version")
	rec.Action = echo(action)
	svc := serviceOf(action, version)
	rec.Service = svc.name
	t, refused := h.route(r, protoQuery, svc, rec)
	if t == nil {
		return refused
	}
	switch {
	case !hasAction || action == "":
		return h.failure(protoQuery, svc, 400, codeMissingAction, "The request must contain the parameter Action.", "")
	case !hasVersion || version == "":
		return h.failure(protoQuery, svc, 400, codeMissingParameter, "The request must contain the parameter Version.", "")
	case version != svc.version:
		return h.failure(protoQuery, svc, 400, codeNoSuchVersion,
			fmt.Sprintf("The requested version (%s) of service %s does not exist.", quoteValue(version), svc.name), "")
	}
	op, ok := svc.ops[action]
	if !ok {
		return h.failure(protoQuery, svc, 400, codeInvalidAction,
			fmt.Sprintf("The action %s is not valid for this web service.", quoteParam(action)), "")
	}
	in := reflect.New(op.input)
	if err := decodeQuery(svc.style, root, in); err != nil {
		return h.errorAnswer(protoQuery, svc, err)
	}
	out, err := op.call(r.Context(), t, in.Interface())
	if err != nil {
		return h.errorAnswer(protoQuery, svc, notServed(err, action))
	}
	id := h.requestID()
	return answer{status: 200, header: xmlHeader(id), body: encodeXMLAnswer(svc, action, id, out)}
}

// serviceOf picks the service of a Query request: the one whose version it
// names, else one of the Query services that has its action, else EC2.
func serviceOf(action, version string) *service {
	for _, s := range services {
		if s.version != "" && s.version == version {
			return s
		}
	}
	for _, s := range services {
		if _, ok := s.ops[action]; ok && s.version != "" {
			return s
		}
	}
	return ec2Service
}

// notServed turns errNotServed into the answer to an action the handler
// has no fake for.
func notServed(err error, action string) error {
	if errors.Is(err, errNotServed) {
		return badParam(codeInvalidAction, "The action %s is not served: the emulator was started without that service.", quoteParam(action))
	}
	return err
}

// document answers a request of the JSON or CBOR protocol with the fakes
// of t.
func (h *handler) document(ctx context.Context, f docFormat, svc *service, op operation, t *target, body []byte) answer {
	p := protoJSON
	if f == cborDoc {
		p = protoCBOR
	}
	in := reflect.New(op.input)
	if err := unmarshalDocument(f, body, in); err != nil {
		return h.errorAnswer(p, svc, err)
	}
	out, err := op.call(ctx, t, in.Interface())
	if err != nil {
		if errors.Is(err, errNotServed) {
			return h.failure(p, svc, 404, codeUnknownOperation, fmt.Sprintf("The operation %s is not served: the emulator was started without that service.", op.name), "")
		}
		return h.errorAnswer(p, svc, err)
	}
	b, err := marshalDocument(f, out)
	if err != nil {
		return h.failure(p, svc, 500, codeInternal, "The answer could not be encoded: "+echo(err.Error()), "")
	}
	id := h.requestID()
	return answer{status: 200, header: documentHeader(f, svc, id), body: b}
}

// errorAnswer answers err, an error of a fake (shaped as the SDK returns
// service errors) or a *protocolError.
func (h *handler) errorAnswer(p protocol, svc *service, err error) answer {
	var pe *protocolError
	if errors.As(err, &pe) {
		return h.failure(p, svc, pe.status, pe.code, pe.message, "")
	}
	status, code, message := 500, codeInternal, err.Error()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	var se interface{ HTTPStatusCode() int }
	if errors.As(err, &se) && se.HTTPStatusCode() >= 400 {
		status = se.HTTPStatusCode()
	}
	var canceled *smithy.CanceledError
	if errors.As(err, &canceled) {
		// The client went away; nobody reads this.
		status, code, message = 499, "RequestCanceled", "The request was canceled."
	}
	id := ""
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		id = re.ServiceRequestID()
	}
	f := jsonDoc
	if p == protoCBOR {
		f = cborDoc
	}
	return h.failureWith(p, svc, status, code, message, id, errorMembers(f, apiErr))
}

// errorMembers returns the members of an error the SDK models with a type
// of its own (such as Organizations' InvalidInputException and its
// Reason), which the JSON and CBOR protocols carry beside the code and
// message; nil for other errors.
func errorMembers(f docFormat, apiErr smithy.APIError) map[string]any {
	v := reflect.ValueOf(apiErr)
	if apiErr == nil || v.Kind() != reflect.Pointer || v.IsNil() || !isStruct(v.Elem().Type()) ||
		!strings.HasPrefix(v.Elem().Type().PkgPath(), sdkServicePath) {
		return nil
	}
	doc, _ := toDocument(f, v.Elem()).(map[string]any)
	delete(doc, "Message")
	delete(doc, "ErrorCodeOverride")
	return doc
}

// failure encodes an error answer in the shape of the protocol and service.
func (h *handler) failure(p protocol, svc *service, status int, code, message, requestID string) answer {
	return h.failureWith(p, svc, status, code, message, requestID, nil)
}

// failureWith is failure with the members of a modelled error, which only
// the JSON and CBOR protocols carry.
func (h *handler) failureWith(p protocol, svc *service, status int, code, message, requestID string, members map[string]any) answer {
	if requestID == "" {
		requestID = h.requestID()
	}
	if svc == nil {
		svc = ec2Service
	}
	switch p {
	case protoJSON, protoCBOR:
		f := jsonDoc
		if p == protoCBOR {
			f = cborDoc
		}
		typ := code
		if shape, ok := svc.queryErrors[code]; ok {
			typ = shape
		}
		// The message goes as "message", which the protocols read, and
		// as "Message", the member of the services' error shapes.
		doc := map[string]any{"__type": typ, "message": message, "Message": message}
		for k, v := range members {
			if _, taken := doc[k]; !taken {
				doc[k] = v
			}
		}
		body, err := encodeDocument(f, doc)
		if err != nil {
			body = nil
		}
		hd := documentHeader(f, svc, requestID)
		// The services that moved from the Query protocol tell their
		// clients the Query error code, which the SDKs report.
		if svc.queryCompatible() {
			hd.Set("X-Amzn-Query-Error", code+";"+faultType(status))
		}
		return answer{status: status, header: hd, body: body, code: code}
	}
	return answer{status: status, header: xmlHeader(requestID), body: encodeXMLError(svc, status, code, message, requestID), code: code}
}

func xmlHeader(requestID string) http.Header {
	return http.Header{
		"Content-Type":     {"text/xml;charset=UTF-8"},
		"X-Amzn-Requestid": {requestID},
	}
}

func documentHeader(f docFormat, svc *service, requestID string) http.Header {
	if f == cborDoc {
		return http.Header{
			"Content-Type":     {"application/cbor"},
			"Smithy-Protocol":  {"rpc-v2-cbor"},
			"X-Amzn-Requestid": {requestID},
		}
	}
	v := svc.jsonVersion
	if v == "" {
		v = "1.0"
	}
	return http.Header{
		"Content-Type":     {"application/x-amz-json-" + v},
		"X-Amzn-Requestid": {requestID},
	}
}

// requestID returns a new request ID in the form of EC2's (a UUID).
func (h *handler) requestID() string {
	return fmt.Sprintf("00000000-0000-4000-9000-%012x", h.requests.Add(1))
}

// Server is a handler of NewHandler listening on a loopback address, for
// tests and local tools. Create it with NewServer and Close it when done.
type Server struct {
	// URL is the endpoint, http://127.0.0.1:PORT: pass it as BaseEndpoint
	// to the SDK's clients, or as --endpoint-url to the AWS CLI.
	URL string

	srv  *http.Server
	done chan struct{}
}

// NewServer starts serving f, as NewHandler does, on 127.0.0.1 and a free
// port.
func NewServer(f *EC2, optFns ...func(*HandlerOptions)) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake: listen on loopback: %w", err)
	}
	s := &Server{
		URL: "http://" + l.Addr().String(),
		srv: &http.Server{
			Handler:           NewHandler(f, optFns...),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute, // a body trickled in cannot hold a connection for ever
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(l)
	}()
	return s, nil
}

// Config returns an SDK configuration for the server: Region us-east-1,
// the static credentials "test"/"test" (signatures are not verified;
// "test" is [ManagementAccessKeyID], the management account's key when
// the server serves an Organization), and
// BaseEndpoint set to URL. ec2.NewFromConfig and cloudwatch.NewFromConfig
// make clients of it.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// Close stops the server at once: it closes the listener and every
// connection, and waits until the server has stopped.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
