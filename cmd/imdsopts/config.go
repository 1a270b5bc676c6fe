package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/logging"

	"github.com/imdsopts/imdsopts/fleet"
	"github.com/imdsopts/imdsopts/internal/awscli"
	"github.com/imdsopts/imdsopts/internal/awsid"
	"github.com/imdsopts/imdsopts/internal/check"
	"github.com/imdsopts/imdsopts/internal/userfile"
)

// newSDKAPI builds an *ec2.Client the way the AWS CLI resolves its
// configuration: the SDK's default chain (environment, shared config and
// credentials files, SSO, web identity, container and instance
// credentials), with --profile and --region taking precedence.
func newSDKAPI(ctx context.Context, g *globals, debugLog io.Writer) (API, error) {
	cfg, err := sdkConfig(ctx, g, debugLog)
	if err != nil {
		return nil, err
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if g.endpointURL != "" {
			o.BaseEndpoint = aws.String(g.endpointURL)
		}
	}), nil
}

// newSDKMetrics builds the *cloudwatch.Client of the IMDSv1 gate from the
// same configuration as the EC2 client: Region, profile, credentials, TLS
// and timeouts. --endpoint-url points it at the same URL, as emulators
// serve every service on one endpoint.
func newSDKMetrics(ctx context.Context, g *globals, debugLog io.Writer) (fleet.MetricsAPI, error) {
	cfg, err := sdkConfig(ctx, g, debugLog)
	if err != nil {
		return nil, err
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if g.endpointURL != "" {
			o.BaseEndpoint = aws.String(g.endpointURL)
		}
	}), nil
}

// sdkConfig loads the SDK configuration once per run; the clients of one
// run share it, and so its credentials.
func sdkConfig(ctx context.Context, g *globals, debugLog io.Writer) (aws.Config, error) {
	if g.sdk != nil {
		return *g.sdk, nil
	}
	if g.emulator {
		return g.emulatorConfig(debugLog)
	}
	cfg, err := loadSDKConfig(ctx, g, debugLog)
	if err != nil {
		return aws.Config{}, err
	}
	g.sdk = &cfg
	return cfg, nil
}

func loadSDKConfig(ctx context.Context, g *globals, debugLog io.Writer) (aws.Config, error) {
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = g.connectTimeout }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = g.connectTimeout
			tr.ResponseHeaderTimeout = g.readTimeout
			if g.noVerifySSL {
				if tr.TLSClientConfig == nil {
					tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
				}
				tr.TLSClientConfig.InsecureSkipVerify = true
			}
		})
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if g.region != "" {
		opts = append(opts, config.WithRegion(g.region))
	}
	if g.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(g.profile))
	}
	if g.caBundle != "" {
		pem, err := readCABundle(g.caBundle)
		if err != nil {
			return aws.Config{}, configError(fmt.Errorf("--ca-bundle %s: %w", check.Quote(g.caBundle), err))
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	if g.noSignRequest {
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	}
	var logger *redactingLogger
	if g.debug {
		logger = &redactingLogger{w: debugLog, secrets: g.secrets}
		opts = append(opts,
			config.WithLogger(logger),
			config.WithClientLogMode(aws.LogRequestWithBody|aws.LogResponseWithBody|aws.LogRetries))
	} else {
		opts = append(opts, config.WithLogger(&warningLogger{w: debugLog, secrets: g.secrets}))
	}
	if err := checkSDKFiles(); err != nil {
		return aws.Config{}, configError(err)
	}
	// Credentials from an instance role are read from IMDS with a session
	// token only: a tool that moves instances to IMDSv2 does not fall back
	// to IMDSv1 for its own credentials, as the SDK would by default (with
	// a warning on stderr). The client is made from the configuration as
	// loaded, so that its endpoint settings hold.
	base, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, configError(loadError(err, g))
	}
	roleIMDS := imds.NewFromConfig(base, func(o *imds.Options) { o.EnableFallback = aws.FalseTernary })
	opts = append(opts, config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = roleIMDS }))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, configError(loadError(err, g))
	}
	if cfg.Region == "" {
		return aws.Config{}, configError(errors.New("no region: use --region, or set AWS_REGION or AWS_DEFAULT_REGION, or region in the profile"))
	}
	// --region is checked with the other flags; a Region from the
	// environment or the profile is checked here, before any call: with an
	// endpoint URL nothing else would notice a typo.
	if err := awsid.CheckRegion(cfg.Region); err != nil {
		return aws.Config{}, configError(fmt.Errorf("the Region (from AWS_REGION, AWS_DEFAULT_REGION or the profile) %w", err))
	}
	if !g.noSignRequest {
		if cfg.Credentials == nil {
			return aws.Config{}, configError(errors.New("unable to locate credentials"))
		}
		// Learn the secrets as they are retrieved, so that the debug log
		// and error messages can redact them wherever they appear.
		cfg.Credentials = &recordingProvider{inner: cfg.Credentials, secrets: g.secrets}
		// Retrieve them now (they are cached), so that missing or broken
		// credentials are a configuration error, as with the AWS CLI.
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return aws.Config{}, ctx.Err()
			}
			return aws.Config{}, configError(fmt.Errorf("unable to locate credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "+
				"give --profile NAME of a profile that has them (aws configure list-profiles lists them; aws sso login signs an SSO "+
				"profile in), or run where an instance role provides them): %w", credentialError(err)))
		}
	}
	if logger != nil {
		logger.Logf(logging.Debug, "imdsopts %s: region %s, endpoint %s", version(), cfg.Region, cmp.Or(g.endpointText(), "(the Region's)"))
	}
	return cfg, nil
}

// loadError says what to do about an error of loading the SDK's
// configuration: a profile that does not exist names the flag or variable
// that chose it and where profiles are; others are the SDK's.
func loadError(err error, g *globals) error {
	var missing config.SharedConfigProfileNotExistError
	if !errors.As(err, &missing) {
		return err
	}
	from := "--profile"
	if g.profile == "" {
		from = "AWS_PROFILE"
	}
	files := "~/.aws/config or ~/.aws/credentials"
	if len(missing.Filename) > 0 {
		files = strings.Join(missing.Filename, " or ")
	}
	return fmt.Errorf("%s %s: no such profile in %s: aws configure list-profiles lists those there, and "+
		"aws configure --profile %s makes it", from, check.Quote(missing.Profile), files, missing.Profile)
}

// warningLogger passes on to w the SDK's warnings that tell the user
// something, credentials removed, as notes; the rest of its log, and the
// warning that a response body was not read to its end (it only costs a
// connection), are dropped.
type warningLogger struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *secrets
}

// Logf implements logging.Logger.
func (l *warningLogger) Logf(c logging.Classification, format string, v ...any) {
	if c != logging.Warn || strings.HasPrefix(format, "failed to discard remaining HTTP response body") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "imdsopts: note: the AWS SDK warns: %s\n", awscli.Sanitize(redact(fmt.Sprintf(format, v...), l.secrets.list())))
}

// checkSDKFiles refuses, before the SDK opens them, the files it would
// read that are not regular files: the shared config and credentials files
// (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/config and
// ~/.aws/credentials), AWS_CA_BUNDLE and AWS_WEB_IDENTITY_TOKEN_FILE. The
// SDK opens them blocking: a FIFO would hang the run, through Ctrl-C, before
// any request. A file that does not exist is the SDK's to judge.
func checkSDKFiles() error {
	env, err := config.NewEnvConfig()
	if err != nil {
		return nil // the SDK reports it, in its words
	}
	files := []struct{ name, path string }{
		{"AWS_CONFIG_FILE", env.SharedConfigFile},
		{"AWS_SHARED_CREDENTIALS_FILE", env.SharedCredentialsFile},
		{"AWS_CA_BUNDLE", env.CustomCABundle},
		{"AWS_WEB_IDENTITY_TOKEN_FILE", env.WebIdentityTokenFilePath},
	}
	if files[0].path == "" {
		files[0] = struct{ name, path string }{"the shared config file", config.DefaultSharedConfigFilename()}
	}
	if files[1].path == "" {
		files[1] = struct{ name, path string }{"the shared credentials file", config.DefaultSharedCredentialsFilename()}
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := userfile.Check(f.path); errors.Is(err, userfile.ErrNotRegular) {
			return fmt.Errorf("%s %s: %w", f.name, check.Quote(f.path), err)
		}
	}
	return nil
}

// maxCABundle bounds the size of --ca-bundle: many times the bundle of every
// public CA, and a bound for a path such as /dev/zero.
const maxCABundle = 16 << 20

// readCABundle reads the PEM file path: a regular file, refused before it
// can block otherwise.
func readCABundle(path string) ([]byte, error) {
	pem, err := userfile.ReadFile(path, maxCABundle)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is echoed, shortened, by the caller
	}
	return pem, err
}

// credentialError returns err without the output of a credential_process
// that the SDK could not parse: the SDK's message holds that output whole,
// secret key included. What went wrong, and its cause, remain.
func credentialError(err error) error {
	var pe *processcreds.ProviderError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &pe) {
		return err
	}
	if errors.As(pe.Err, &syntax) || errors.As(pe.Err, &typ) {
		return &credentialProcessError{cause: errors.Unwrap(pe.Err)}
	}
	return &credentialProcessError{cause: pe.Err}
}

// credentialProcessError is a failure of the credential_process of the
// profile.
type credentialProcessError struct{ cause error }

func (e *credentialProcessError) Error() string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(e.cause, &syntax) || errors.As(e.cause, &typ) {
		return "credential_process: its output is not the JSON of credentials (not shown: it may hold secrets): " + e.cause.Error()
	}
	return "credential_process: " + e.cause.Error()
}

func (e *credentialProcessError) Unwrap() error { return e.cause }

// recordingProvider passes on retrieved credentials and records their
// secret parts.
type recordingProvider struct {
	inner   aws.CredentialsProvider
	secrets *secrets
}

func (p *recordingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err == nil {
		p.secrets.add(c.SecretAccessKey, c.SessionToken)
	}
	return c, err
}

// secrets are the secret values of a run's credentials, as they become
// known; safe for concurrent use.
type secrets struct {
	mu     sync.Mutex
	values []string
}

func (s *secrets) add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		// A short value would redact unrelated text; no credential is so
		// short.
		if len(v) >= 8 && !slices.Contains(s.values, v) {
			s.values = append(s.values, v)
		}
	}
}

// list returns the values known so far; nil for a nil s.
func (s *secrets) list() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.values)
}

// redactingLogger writes the SDK's log to w with every credential removed
// (see redact).
type redactingLogger struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *secrets
}

const redacted = "[REDACTED]"

var (
	secretHeaders = regexp.MustCompile(`(?im)^((?:authorization|proxy-authorization|x-amz-security-token|x-amz-sso_bearer_token|x-aws-ec2-metadata-token|x-amz-content-sha256-secret)[ \t]*:)[^\r\n]*`)
	secretXML     = regexp.MustCompile(`(?is)(<(SecretAccessKey|SessionToken|Token|AccessToken|RefreshToken|ClientSecret)>).*?(</|$)`)
	// A JSON member, closed or cut short (malformed output).
	secretJSON  = regexp.MustCompile(`(?i)("(?:secretAccessKey|sessionToken|token|accessToken|refreshToken|clientSecret|SecretAccessKey|SessionToken)"\s*:\s*)"(?:[^"\\]|\\.)*"?`)
	secretQuery = regexp.MustCompile(`(?i)((?:X-Amz-Security-Token|X-Amz-Signature|Signature)=)[^&\s]*`)
	// The password of a URL's user information.
	secretUserinfo = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]*@`)
)

// Logf implements logging.Logger.
func (l *redactingLogger) Logf(c logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// HTTP dumps end their lines with CR LF: LF is enough on a terminal,
	// and any other control character is escaped.
	msg := strings.ReplaceAll(fmt.Sprintf(format, v...), "\r\n", "\n")
	fmt.Fprintf(l.w, "%s %s\n", c, awscli.Sanitize(redact(msg, l.secrets.list())))
}

// redact removes credentials from a message: the literal values of the
// secret key and session token in use, the Authorization and token headers,
// the secret fields of credential responses (STS, SSO, credential_process;
// also when cut short), signatures in query strings, and passwords in URLs.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	msg = secretHeaders.ReplaceAllString(msg, "${1} "+redacted)
	msg = secretXML.ReplaceAllString(msg, "${1}"+redacted+"${3}")
	msg = secretJSON.ReplaceAllString(msg, `${1}"`+redacted+`"`)
	msg = secretQuery.ReplaceAllString(msg, "${1}"+redacted)
	return redactUserinfo(msg)
}

// redactUserinfo replaces the password of every URL in s by "xxxxx", as
// url.URL.Redacted does, also in text that does not parse as a URL.
func redactUserinfo(s string) string {
	return secretUserinfo.ReplaceAllString(s, "${1}xxxxx@")
}
