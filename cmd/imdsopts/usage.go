package main

const globalUsage = `Global options (before or after the subcommand):
  --endpoint-url URL        send requests to URL instead of the Region's EC2 endpoint
  --region REGION           the AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile)
  --profile NAME            the shared config/credentials profile to use
  --output json|text|table  output format (default: AWS_DEFAULT_OUTPUT, else json)
  --query EXPRESSION        JMESPath expression applied to the output
  --no-verify-ssl           do not verify TLS certificates
  --ca-bundle FILE          PEM bundle of CA certificates to trust
  --cli-read-timeout N      seconds to wait for a response (default 60; 0: no timeout)
  --cli-connect-timeout N   seconds to wait for a connection (default 60; 0: no timeout)
  --no-sign-request         send requests unsigned (anonymous credentials)
  --color on|off|auto       colour of table output (default auto)
  --debug                   log requests and responses to stderr (secrets are redacted)
  --version                 print the version and exit
  -h, --help                print this help and exit
`

const exitCodeUsage = `Exit codes:
  0    success
  130  interrupted (Ctrl-C)
  252  invalid command line or value (nothing was sent)
  253  bad configuration (unknown profile, no region, no credentials, bad --ca-bundle)
  254  the service returned an error (including a refused or ignored dry run)
  255  any other error (connection failed, timed out waiting)
`

const usage = `Usage: imdsopts [global options] SUBCOMMAND [options]

Subcommands:
  modify-instance-metadata-options  change the metadata options of an instance
                                    (the options and output of "aws ec2 modify-instance-metadata-options")
  describe                          print the metadata options of an instance
  resolve                           print the metadata options an instance launched from an AMI gets,
                                    each with where it comes from
  help [SUBCOMMAND]                 print this help, or the help of SUBCOMMAND

` + globalUsage + `
` + exitCodeUsage

const modifyUsage = `Usage: imdsopts modify-instance-metadata-options --instance-id ID [options]

Changes the metadata options of an instance, as "aws ec2 modify-instance-metadata-options"
does, after checking every value. Options not given are left as they are.

Options:
  --instance-id ID                    the instance, i- followed by 8 or 17 hex digits (required)
  --http-tokens optional|required     IMDSv2 session tokens optional or required
  --http-put-response-hop-limit N     hop limit of the token response, 1..64
  --http-endpoint enabled|disabled    turn the metadata endpoint on or off
  --http-protocol-ipv6 enabled|disabled
                                      the IPv6 endpoint (not enabled with --http-endpoint disabled)
  --instance-metadata-tags enabled|disabled
                                      access to the instance's tags from the metadata service
  --dry-run | --no-dry-run            only check the permission (the AWS CLI's output and exit 254)
  --cli-input-json JSON|file://PATH   the options as JSON, in the shape of --generate-cli-skeleton
                                      input; options on the command line override it
  --generate-cli-skeleton [input|output]
                                      print a JSON skeleton of the input (default) or output and exit
  --wait                              wait until EC2 reports the options applied, and print them
  --wait-timeout DURATION             bound of --wait: a duration ("5m") or seconds (default 10m)

` + globalUsage + `
` + exitCodeUsage

const describeUsage = `Usage: imdsopts describe --instance-id ID [global options]

Prints the current metadata options of an instance, in the shape of the output of
modify-instance-metadata-options.

Options:
  --instance-id ID                    the instance (required)

` + globalUsage + `
` + exitCodeUsage

const resolveUsage = `Usage: imdsopts resolve --image-id AMI [options]

Prints the metadata options an instance launched from AMI with the given launch
options gets, each with its source: "launch" (the options given here), "account"
(the account's defaults for the Region), "ami" (the AMI's ImdsSupport) or
"default" (EC2's built-in default). Calls GetInstanceMetadataDefaults and
DescribeImages; a failure of either is an error, never taken as "no preference".

Options:
  --image-id AMI                      the AMI (required)
  --http-tokens optional|required     launch option HttpTokens
  --http-put-response-hop-limit N     launch option HttpPutResponseHopLimit, 1..64
  --http-endpoint enabled|disabled    launch option HttpEndpoint
  --http-protocol-ipv6 enabled|disabled
                                      launch option HttpProtocolIpv6
  --instance-metadata-tags enabled|disabled
                                      launch option InstanceMetadataTags

` + globalUsage + `
` + exitCodeUsage

var subcommandUsage = map[string]string{
	"modify-instance-metadata-options": modifyUsage,
	"describe":                         describeUsage,
	"resolve":                          resolveUsage,
}
