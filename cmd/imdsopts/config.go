package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/logging"

	"github.com/imdsopts/imdsopts"
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
func newSDKMetrics(ctx context.Context, g *globals, debugLog io.Writer) (imdsopts.MetricsAPI, error) {
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
		pem, err := os.ReadFile(g.caBundle)
		if err != nil {
			return aws.Config{}, configError(fmt.Errorf("--ca-bundle: %w", err))
		}
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	if g.noSignRequest {
		opts = append(opts, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	}
	var logger *redactingLogger
	if g.debug {
		logger = &redactingLogger{w: debugLog}
		opts = append(opts,
			config.WithLogger(logger),
			config.WithClientLogMode(aws.LogRequestWithBody|aws.LogResponseWithBody|aws.LogRetries))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, configError(err)
	}
	if cfg.Region == "" {
		return aws.Config{}, configError(errors.New("no region: use --region, or set AWS_REGION or AWS_DEFAULT_REGION, or region in the profile"))
	}
	if !g.noSignRequest {
		if cfg.Credentials == nil {
			return aws.Config{}, configError(errors.New("unable to locate credentials"))
		}
		if logger != nil {
			// Learn the secrets as they are retrieved, so the log can
			// redact them wherever they appear.
			cfg.Credentials = &recordingProvider{inner: cfg.Credentials, log: logger}
		}
		// Retrieve them now (they are cached), so that missing or broken
		// credentials are a configuration error, as with the AWS CLI.
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return aws.Config{}, ctx.Err()
			}
			return aws.Config{}, configError(fmt.Errorf("unable to locate credentials: %w", err))
		}
	}
	if logger != nil {
		logger.Logf(logging.Debug, "imdsopts %s: region %s, endpoint %s", version(), cfg.Region, orDefault(g.endpointURL, "(the Region's)"))
	}
	return cfg, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// recordingProvider passes on retrieved credentials and tells the debug log
// their secret parts.
type recordingProvider struct {
	inner aws.CredentialsProvider
	log   *redactingLogger
}

func (p *recordingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err == nil {
		p.log.addSecrets(c.SecretAccessKey, c.SessionToken)
	}
	return c, err
}

// redactingLogger writes the SDK's log to w with every credential removed:
// the Authorization and token headers, the secret fields of credential
// responses (STS, SSO), signatures in query strings, and the literal values
// of the secret key and session token in use.
type redactingLogger struct {
	mu      sync.Mutex
	w       io.Writer
	secrets []string
}

const redacted = "[REDACTED]"

var (
	secretHeaders = regexp.MustCompile(`(?im)^((?:authorization|proxy-authorization|x-amz-security-token|x-amz-sso_bearer_token|x-aws-ec2-metadata-token|x-amz-content-sha256-secret)[ \t]*:)[^\r\n]*`)
	secretXML     = regexp.MustCompile(`(?is)(<(SecretAccessKey|SessionToken|Token|AccessToken|RefreshToken|ClientSecret)>).*?(</)`)
	secretJSON    = regexp.MustCompile(`(?i)("(?:secretAccessKey|sessionToken|token|accessToken|refreshToken|clientSecret|SecretAccessKey|SessionToken)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	secretQuery   = regexp.MustCompile(`(?i)((?:X-Amz-Security-Token|X-Amz-Signature|Signature)=)[^&\s]*`)
)

func (l *redactingLogger) addSecrets(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range values {
		if len(v) >= 4 && !containsString(l.secrets, v) {
			l.secrets = append(l.secrets, v)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Logf implements logging.Logger.
func (l *redactingLogger) Logf(c logging.Classification, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", c, redact(fmt.Sprintf(format, v...), l.secrets))
}

// redact removes credentials from a log message.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	msg = secretHeaders.ReplaceAllString(msg, "${1} "+redacted)
	msg = secretXML.ReplaceAllString(msg, "${1}"+redacted+"${3}")
	msg = secretJSON.ReplaceAllString(msg, `${1}"`+redacted+`"`)
	msg = secretQuery.ReplaceAllString(msg, "${1}"+redacted)
	return msg
}
