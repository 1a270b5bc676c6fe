package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/imdsopts/imdsopts/internal/awsid"
)

// Where a run acts: the Region its clients call, and the account its
// credentials belong to. A journal records both, and resume and undo
// refuse a journal of another account or Region before anything is sent.
// Learning them is part of the configuration, as retrieving credentials
// is: neither changes anything, and a mismatch is a configuration error
// (exit 253).

// regionFunc returns the Region the run's clients call.
type regionFunc func(ctx context.Context, g *globals, debugLog io.Writer) (string, error)

// accountFunc returns the account the run's credentials belong to, and,
// when it was not learned from STS, a note that says how it was. api is
// the run's EC2 client, without the run's observation.
type accountFunc func(ctx context.Context, g *globals, api API, debugLog io.Writer) (account, note string, err error)

// withIdentity makes the run take region and account from the functions
// given; tests use it with fakes, which have no SDK configuration.
func withIdentity(region regionFunc, account accountFunc) appOption {
	return func(a *app) { a.region, a.account = region, account }
}

// sdkRegion is the Region of the SDK configuration: --region, the
// environment or the profile; with --emulator, the emulator's.
func sdkRegion(ctx context.Context, g *globals, debugLog io.Writer) (string, error) {
	cfg, err := sdkConfig(ctx, g, debugLog)
	if err != nil {
		return "", err
	}
	return cfg.Region, nil
}

// sdkAccount asks STS GetCallerIdentity (at --endpoint-url when given, as
// emulators serve every service on one endpoint). An emulator may not serve
// STS: when the endpoint is one (--emulator or --endpoint-url) and answers
// GetCallerIdentity with an error, the account is the owner of the
// instances it lists (DescribeInstances' OwnerId), which is the caller's,
// and the note says so. Against AWS's own endpoints, STS must answer.
func sdkAccount(ctx context.Context, g *globals, api API, debugLog io.Writer) (string, string, error) {
	cfg, err := sdkConfig(ctx, g, debugLog)
	if err != nil {
		return "", "", err
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if g.endpointURL != "" {
			o.BaseEndpoint = aws.String(g.endpointURL)
		}
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	switch {
	case err == nil && awsid.IsAccountID(aws.ToString(out.Account)):
		return aws.ToString(out.Account), "", nil
	case err == nil:
		return "", "", configError(fmt.Errorf("STS GetCallerIdentity answered %s, not an account ID", quoteOrNone(out.Account)))
	case ctx.Err() != nil:
		return "", "", ctx.Err()
	case !answered(err):
		return "", "", fmt.Errorf("learning the account of the credentials (STS GetCallerIdentity): %w", err)
	case !g.emulator && g.endpointURL == "":
		return "", "", configError(fmt.Errorf("learning the account of the credentials (STS GetCallerIdentity): %w", err))
	}
	owner, ownerErr := instanceOwner(ctx, api)
	if ownerErr != nil {
		return "", "", configError(fmt.Errorf("the endpoint does not serve STS GetCallerIdentity (%s), and the account cannot be told from its instances: %w",
			errorCode(err), ownerErr))
	}
	return owner, fmt.Sprintf("imdsopts: note: the endpoint does not serve STS GetCallerIdentity (%s): the account is %s, the owner of the instances it lists",
		errorCode(err), owner), nil
}

// instanceOwner returns the account that owns the instances api lists
// (DescribeInstances lists only the caller's).
func instanceOwner(ctx context.Context, api API) (string, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	if err != nil {
		return "", fmt.Errorf("DescribeInstances: %w", err)
	}
	for _, r := range out.Reservations {
		if id := aws.ToString(r.OwnerId); awsid.IsAccountID(id) {
			return id, nil
		}
	}
	return "", errors.New("DescribeInstances lists no instance with its owner")
}

// errorCode is the API error code of err, or its HTTP status.
func errorCode(err error) string {
	var apiErr smithy.APIError
	var status httpStatusError
	switch {
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode()
	case errors.As(err, &status):
		return fmt.Sprintf("HTTP %d", status.HTTPStatusCode())
	}
	return err.Error()
}

func quoteOrNone(s *string) string {
	if s == nil {
		return "no account"
	}
	return fmt.Sprintf("%q", *s)
}
