package fake

// What the services answer a request whose credentials do not reach an
// account/Region of an Organization: the reasons, and each service's
// words for them.

// Error codes of requests whose signature the handler cannot route by.
const (
	codeBadSignature = "IncompleteSignature"
	codeWrongScope   = "SignatureDoesNotMatch"
)

// authFailure is why a request's credentials do not reach an
// account/Region.
type authFailure int

const (
	authUnknownKey authFailure = iota + 1 // no such key, or its account closed or suspended
	authExpired                           // a session past its expiration
	authNotEnabled                        // the Region is not enabled for the account
	authBadRegion                         // not a Region of the partition
)

// authAnswer is the error a service answers a request whose credentials do
// not reach it.
type authAnswer struct {
	status        int
	code, message string
}

// authStyle is how a service answers credentials that do not reach it.
type authStyle int

const (
	ec2Auth   authStyle = iota // EC2's codes
	queryAuth                  // the AWS Query services' codes
	jsonAuth                   // the JSON services' codes
)

// answer returns what services of style s answer for credentials that
// fail for reason why. Every answer is unverified (see the package
// documentation): AuthFailure for a Region not opted into and
// RequestExpired for expired credentials are what users report of EC2;
// the others are the common errors of the AWS Query and JSON services,
// chosen for the reasons as their names and messages describe them.
func (s authStyle) answer(why authFailure) authAnswer {
	if why == authBadRegion {
		return authAnswer{403, codeWrongScope, "Credential should be scoped to a valid region."}
	}
	expired := why == authExpired
	switch s {
	case ec2Auth:
		if expired {
			return authAnswer{400, "RequestExpired", "Request has expired."}
		}
		return authAnswer{401, "AuthFailure", "AWS was not able to validate the provided access credentials"}
	case jsonAuth:
		if expired {
			return authAnswer{400, "ExpiredTokenException", "The security token included in the request is expired"}
		}
		return authAnswer{400, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if expired {
		return authAnswer{403, "ExpiredToken", "The security token included in the request is expired"}
	}
	return authAnswer{403, "InvalidClientTokenId", "The security token included in the request is invalid."}
}
