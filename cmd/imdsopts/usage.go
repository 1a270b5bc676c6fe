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
  --emulator                run against an emulator started in this process, seeded with a realistic
                            account of 200 instances, instead of AWS ("imdsopts help emulator")
  --emulator-seed FILE      seed that emulator from FILE (the seed file of "imdsopts help emulator")
  --emulator-seed-account NAME
                            seed that emulator with a built-in account: "realistic" (the default) or
                            "containers", EKS, Karpenter, ECS, Elastic Beanstalk and CloudFormation
                            instances ("imdsopts help emulator")
  --emulator-organization N make that emulator an organisation of N accounts, each with the role
                            OrganizationAccountAccessRole and seeded alike in us-east-1 and eu-west-1,
                            for the target options ("imdsopts help plan")
  --regions R1,R2|all, --role-arn ARN, --role-arns-file FILE, --organization-role NAME,
  --external-id ID, --role-session-name NAME
                            the accounts and Regions plan, apply and posture work in, side by side
                            ("imdsopts help plan"); the other subcommands refuse them
  --version                 print the version and exit
  -h, --help                print this help and exit
`

const exitCodeUsage = `Exit codes:
  0    success; also when a stopped instance accepted the change, which EC2 applies when it
       starts (a note on stderr says so)
  1    not ready to enforce IMDSv2: posture's verdict, or modify-instance-metadata-defaults refusing
       to enable enforcement (nothing was sent); the blockers are printed, in the order to fix them
  130  interrupted (Ctrl-C or SIGTERM), after printing what was done
  252  invalid command line or value: nothing was sent
  253  bad configuration (unknown profile, no region, no credentials, bad --ca-bundle): nothing
       was sent
  254  the service returned an error (including a refused or ignored dry run), or its answer
       stopped the run: a rollout halted on rejected IMDSv1 calls, a change the account's
       enforcement of IMDSv2 would make one-way was refused, an instance needs a person
  255  any other error: connection failed, timed out waiting, a --query that failed on the output
       (the output is then printed without it), the output could not be written to stdout (it is
       then written to stderr)
Once a call is sent, the exit code is never 252 or 253, and what was done is printed.
`

const usage = `Usage: imdsopts [global options] SUBCOMMAND [options]

Subcommands:
  modify-instance-metadata-options  change the metadata options of an instance
                                    (the options and output of "aws ec2 modify-instance-metadata-options")
  describe                          print the metadata options of an instance
  resolve                           print the metadata options an instance launched from an AMI gets,
                                    each with where it comes from
  plan                              print what apply would do to a fleet of instances, changing nothing
  apply                             change the metadata options of a fleet of instances, within EC2's
                                    rate limits, and report each instance's outcome; in waves watched for
                                    what the change breaks, and journaled, to resume or undo
  undo                              restore what the runs of a journal of apply changed
  emulator                          serve an in-memory EC2 and CloudWatch with EC2's semantics, for the
                                    AWS CLI, the SDKs and imdsopts, until Ctrl-C
  help [SUBCOMMAND]                 print this help, or the help of SUBCOMMAND

Making IMDSv2 stick (the account's defaults, templates and AMIs, for one account and Region):
  posture                           where the account stands, and whether it can enforce IMDSv2: the
                                    blockers in the order to fix them (exit 1 while not ready)
  get-instance-metadata-defaults    print the account's default metadata options (as the AWS CLI)
  modify-instance-metadata-defaults set them, sending only what changes; enabling enforcement
                                    (--http-tokens-enforced enabled) first checks that no launch would fail
  templates plan|apply              give each launch template that launches with IMDSv1 a new version
                                    that does not, copied from the version in use
  images set-imdsv2                 set ImdsSupport v2.0 on the account's own AMIs (cannot be undone)

` + globalUsage + `
` + exitCodeUsage

// setOptionsUsage describes the five option flags that modify, plan and
// apply take.
const setOptionsUsage = `  --http-tokens optional|required     IMDSv2 session tokens optional or required
  --http-put-response-hop-limit N     hop limit of the token response, 1..64
  --http-endpoint enabled|disabled    turn the metadata endpoint on or off
  --http-protocol-ipv6 enabled|disabled
                                      the IPv6 endpoint (not enabled with --http-endpoint disabled)
  --instance-metadata-tags enabled|disabled
                                      access to the instance's tags from the metadata service
`

const modifyUsage = `Usage: imdsopts modify-instance-metadata-options --instance-id ID [options]

Changes the metadata options of an instance, as "aws ec2 modify-instance-metadata-options"
does, after checking every value. At least one option is required (a flag or its member in
--cli-input-json); options not given are left as they are.

Options:
  --instance-id ID                    the instance, i- followed by 8 or 17 hex digits (required)
` + setOptionsUsage + `  --dry-run | --no-dry-run            only check the permission (the AWS CLI's output and exit 254)
  --cli-input-json JSON|file://PATH|-
                                      the options as a JSON object, in the shape of
                                      --generate-cli-skeleton input, with its members' exact names
                                      (each once, none null); "-" reads standard input; at most 1 MiB.
                                      Options on the command line override it
  --generate-cli-skeleton [input|output]
                                      print a JSON skeleton of the input (default) or output and exit
  --wait                              wait until EC2 reports the options applied, and print them;
                                      a stopped instance prints the options seen (they apply when it
                                      starts) and exits 0. On a terminal, stderr shows a progress line
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

const fleetOptionsUsage = `Selection (at least one; an instance must match all given):
  --instance-ids ID [ID ...]          instances by ID; several after the flag, or separated by commas,
                                      or a JSON list
  --filters FILTER [FILTER ...]       DescribeInstances filters, as the AWS CLI takes them:
                                      Name=NAME,Values=V1,V2 (one filter an argument; quote a value
                                      holding a comma: Values="a,b"), or JSON: {"Name":..,"Values":[..]}
                                      or [{"Name":..,"Values":[..]}, ...]. The flag may be repeated.
                                      Without --instance-ids, terminated and shutting-down instances are
                                      left out unless a filter names instance-state-name.
  --tags KEY=VALUE [KEY=VALUE ...]    instances with tag KEY set to VALUE (the filter tag:KEY);
                                      split at the first "="

Options to set (at least one; options not given are left as they are):
` + setOptionsUsage + `
Safety:
  --min-imdsv1-free-days N            the IMDSv1 gate: before --http-tokens required is applied to an
                                      instance, CloudWatch must show no IMDSv1 call (metric
                                      MetadataNoToken) in the last N days, else the instance is held.
                                      An instance whose history cannot be read is held too (default 14,
                                      at most 455; 0 turns the gate off: no CloudWatch call is made).
                                      CloudWatch is called with the same Region, profile and
                                      credentials, and at --endpoint-url when it is given
  --allow-downgrade                   let weakening changes through (HttpTokens required to optional,
                                      the endpoint or instance tags turned on); without it they are
                                      refused, instance by instance
  --container-hop-limit N             the hop limit of container hosts (2 fixes them; default 0: off). A
                                      container is one network hop further from IMDS than its instance:
                                      with tokens required and hop limit 1, its token requests get no
                                      answer, its SDKs fall back to IMDSv1, and that is refused. A
                                      container host (tagged by EKS, Kubernetes, Karpenter or ECS, or
                                      launched with user data of the EKS bootstrap script, nodeadm or
                                      the ECS agent, read from its launch template version or its
                                      group's launch configuration) that a change would leave requiring
                                      tokens with a lower hop limit is held; with N, it gets hop limit N
                                      in the same change instead (accepted, not a downgrade; the IMDSv1
                                      gate still applies)
Checks made before anything is sent: a change EC2 would refuse as it is is not sent (cannot-apply):
InstanceMetadataTags enabled on an instance with a tag key EC2 cannot serve in the metadata (one
outside [0-9a-zA-Z\-_+=,.@:]{1,255}, or ".", ".." or "_index", such as kubernetes.io/cluster/NAME;
the Error names them), and HttpTokens, the hop limit or IPv6 on an instance whose endpoint is
disabled (with it off nothing reaches IMDS; --http-endpoint enabled turns it back on, a downgrade).
Each instance's owner, from its tags (an Elastic Beanstalk environment, an EKS managed node group,
Karpenter, a CloudFormation stack, an Auto Scaling group), undoes a change made in place when it
replaces or updates the instance: the output names it and where the lasting fix goes.

Rollout (plan numbers the waves; apply changes them one after the other):
  --canary N|P%                       the first wave: N instances, or P% of those to change (rounded up,
                                      at least one). Turns the rollout on
  --canary-tags KEY=VALUE [KEY=VALUE ...]
                                      take the canary among the instances to change that have every tag,
                                      in the plan's order: with --canary at most that many, without it
                                      all of them. Turns the rollout on
  --wave-growth X                     each wave after the canary is X times the one before, rounded up
                                      (a number, at least 1; default 2)
  --max-wave N|P%                     the largest wave after the canary (default 20%; 100%: no cap)
  --bake DURATION                     how long each wave is watched once EC2 reports its changes applied,
                                      before the next one starts: 1m..24h (default 10m)
  --check-every DURATION              how often CloudWatch is read during a bake: at least 10s, or 0 (only
                                      when the bake ends; it is always read then) (default 1m)
  --max-data-delay DURATION           how long after a bake ends CloudWatch may take to publish the data of
                                      its end, read every --check-every (at least every minute) until it
                                      does (default 15m)
  --rollback failed|wave|none         what a failed wave restores: the instances that rejected IMDSv1 calls
                                      (failed, the default), those and the whole wave (wave), or nothing
                                      (none: those instances are left to a person)
  With --http-tokens required, each bake reads CloudWatch's MetadataNoTokenRejected (the IMDSv1 calls
  an instance refused because it requires tokens) of every instance changed so far, each since its
  wave began. EC2 publishes that metric only for a period with a refused call: a period without one
  counts as measured when CloudWatch has the instance's CPUUtilization for it. A wave passes only when
  every change it made was seen applied and measured to the end of its bake. One rejected call, or a
  reading that is not a complete measurement (a failed call, data that does not reach the end of the
  bake --max-data-delay after it, a change not seen applied), fails the wave: the rollout halts (no new wave starts: the rest
  are not-attempted) and restores what --rollback says to exactly the five options each instance had
  before. Other changes go in waves with their bakes too, but no metric counts what they break.
  With a rollout, or apply --journal, the account's enforcement of IMDSv2 is read
  (GetInstanceMetadataDefaults) for the changes from HttpTokens optional to required: where the
  account enforces IMDSv2, EC2 refuses to make HttpTokens optional again, so neither a rollback nor
  undo could restore them. The plan lists them (Irreversible, and stderr says so); apply refuses to
  change anything while there are any, unless --accept-irreversible; a halted rollout reports them
  needs-person.

Output (--output json, the default): {"Items": [{"InstanceId", "InstanceState", "Status", "Wave",
"Changes", "Downgrade", "IMDSv1Calls", "RejectedCalls", "Error", "MetadataOptions", "Owner": {"Kind",
"Name", "Fix"}, "Container"}, ...],
"Irreversible": [ID, ...], "Waves": [...], "Counts": {STATUS: N, ...}, "Calls": {OPERATION: N, ...},
"Throttled": N (apply only), "ElapsedSeconds": S}. Changes holds the fields the call sends,
MetadataOptions the options as listed (plan) or last seen (apply), IMDSv1Calls the gate's count,
only for the instances it read, Owner the instance's owner and where the lasting fix goes, Container
what shows a container host. With a rollout: Wave is the instance's wave (1 for the canary),
RejectedCalls the IMDSv1 calls it rejected since its wave began, for the instances the watch
measured; Waves are, in a plan, {"Wave", "Instances"}, and in a report, each wave as its bake ended:
{"Wave", "Instances", "Started", "Ended", "Watched", "Rejected" (instances), "Result" (passed, failed,
interrupted), "Error"}. Irreversible is there when the account's enforcement was read. --query
applies to it (a query that cannot work on this shape is refused before anything is sent);
--output text without --query prints one instance a line (with a rollout, with its WAVE and
REJECTED calls, then one wave a line), then each owner, its instances and where the fix goes.

Statuses: change (plan: needs a call), applied, satisfied (already set: no call), held (by the
IMDSv1 gate, or a container host the change would cut off from IMDS), pending-until-start (stopped:
applies when it starts), refused-downgrade, cannot-apply (EC2 would refuse the change as it is: no
call; Error says why and how to go on), failed,
not-attempted (interrupted first, or after the rollout halted), rolled-back (changed, then restored
to its options before the run: it rejected IMDSv1 calls, or its wave failed; its Error says which),
needs-person (left as it is: its rollback was refused or not asked for; Error says why).

Exit status of plan and apply: 0 when every instance is done: applied, satisfied,
pending-until-start (stderr notes it), refused-downgrade, change, held for IMDSv1 use and held
container hosts are outcomes, listed in the output. An instance is not done when its status is
failed, not-attempted, needs-person or cannot-apply, or when it was held because its IMDSv1 use
could not be read (stderr says "held: IMDSv1 use unknown"). Then: 254 when any of them is an answer
of the service (an API error, an instance not found or terminated), needs a person, or cannot be
changed as it is (EC2's rules would refuse it, as EC2 itself would answer), else 255 (timed out waiting for EC2,
connection failed). A rollout that halted exits 254 when instances rejected IMDSv1 calls (the
service's answer: the change broke them), and when their calls could not be measured, 254 for an
error of CloudWatch, else 255 (no datapoint). apply refusing changes that could not be undone exits
254, having changed nothing. A journal that could not be written exits 255. 130 on Ctrl-C: apply
prints the report so far (changed but not yet seen applied: failed; not yet called:
not-attempted). Once made, the plan or report is printed whatever the exit status. On a terminal,
stderr shows a progress line: the calls made, then the instances done; with a rollout, the wave
under way, its size, the time left of its bake, and the instances that rejected IMDSv1 calls.
`

// targetsFlagsUsage describes the global options that choose the
// accounts and Regions of plan, apply and posture.
const targetsFlagsUsage = `Accounts and Regions (global options; without them, the account of the credentials in
--region, as always). With any of them, every account/Region is a target of its own, worked
on side by side with its own clients and within its own EC2 rate limits:
  --regions R1,R2 | all               the Regions, the same in every account; "all": every Region
                                      enabled for each account (DescribeRegions; opt-in Regions not
                                      enabled are left out). Default: --region
  --role-arn ARN                      assume this role and work in its account; repeat the flag for
                                      more accounts (one role an account)
  --role-arns-file FILE               role ARNs, one a line ("#" begins a comment)
  --organization-role NAME            assume the role NAME in every ACTIVE account of the organisation
                                      (Organizations ListAccounts with the credentials given, from the
                                      management account; the management account needs the role too)
  --external-id ID                    the external ID the roles' trust policies require
  --role-session-name NAME            the roles' session name, as CloudTrail shows it (default imdsopts)
Without --role-arn, --role-arns-file or --organization-role, the account is the caller's own (STS
GetCallerIdentity). STS, Organizations and DescribeRegions are called in --region. Every value is
checked before any call. Credentials are never printed.
`

// targetsUsage describes the target options of plan and apply, and their
// output across targets.
const targetsUsage = targetsFlagsUsage + `
Output across targets (--output json): {"Targets": [{"Account", "Region", "Error", "Items",
"Counts", "Calls", "Throttled"}, ...], "Counts": {STATUS: N, ...}, "TargetsFailed": N, "Calls":
{OPERATION: N, ...}, "Throttled": N (apply only), "ElapsedSeconds": S}: one entry a target, by
account then Region, each with the output of one account ("Items", "Counts", "Calls") when it has a
plan or report, and its "Error" when it failed (an account whose Regions could not be listed has
no "Region"). --output text prints one instance a line, with its account and Region, and a line
"target-failed" for each target that failed. A target that failed is not done: the exit status
counts it as it counts an instance that failed (254 when the service answered, else 255). On a
terminal, stderr shows the targets done and the instances done.

Rollouts and journals across targets: --canary and the rollout options roll out in each target on
its own (a wave that fails halts that target's rollout only; each target's entry has its "Waves").
With --journal or a rollout, a target whose account enforces IMDSv2 lists its one-way changes
("Irreversible"), and apply changes nothing in any target while there are any, unless
--accept-irreversible. apply --journal DIR writes one journal a target in the directory DIR, named
ACCOUNT-REGION.jsonl (made if missing; one that holds a journal already is refused before any
call). apply --resume DIR and undo DIR, given the target flags, go on from the journals in DIR of
the targets the flags reach; each journal is checked against its target's account and Region, and
one that cannot be read, is another target's, or is of a target the flags no longer reach fails
that target only. DIR is locked while a run uses it.
`

const planUsage = `Usage: imdsopts plan SELECTION OPTIONS [options]

Lists the selected instances (every page) and prints, instance by instance, what apply would do:
the fields that change, satisfied instances, stopped ones (the change applies when they start),
downgrades, and, when --http-tokens required is asked, the IMDSv1 gate's verdict. Changes nothing:
only DescribeInstances and, for the gate, CloudWatch GetMetricData are called.

` + fleetOptionsUsage + `
` + targetsUsage + `
` + globalUsage + `
` + exitCodeUsage

const applyUsage = `Usage: imdsopts apply SELECTION OPTIONS [options]
       imdsopts apply --resume FILE [safety and output options]
       imdsopts apply --resume DIR TARGET FLAGS [safety and output options]

Makes the plan (see "imdsopts help plan"), then calls ModifyInstanceMetadataOptions once for
each instance that needs it, sending only the fields that change, paced to EC2's request limits
and retried on throttling; then waits until EC2 reports each change applied, and prints the
report. Held, refused, cannot-apply and satisfied instances are not called for. On a terminal,
stderr shows a progress line.

` + fleetOptionsUsage + `
Journal (apply only):
  --journal FILE                      record the run in FILE, which must not exist yet (or be empty): one
                                      JSON object a line, each written and synced before the run goes on:
                                      a header with the account, Region, options and waves; before each
                                      call the instance's five options and the change; after it, the
                                      outcome. A record that cannot be written stops the run before its
                                      next call (exit 255): nothing is changed that FILE does not record.
                                      FILE is locked while the run writes it. jq reads it:
                                      jq -r 'select(.record == "intent") | .instance' FILE
  --resume FILE                       finish the run FILE records, after it was interrupted (killed,
                                      Ctrl-C, a failed journal write): the same instances, options, waves
                                      and rollout, with no instance changed twice (what EC2 reports of an
                                      instance whose outcome FILE lacks decides), appending to FILE. The
                                      selection, option, rollout and --journal flags are refused with it.
                                      A rollout that halted is not resumed: undo it, or plan again
  --accept-irreversible               change instances whose change could not be undone (see Rollout);
                                      with --resume, go on when the account enforces IMDSv2 since
  "imdsopts undo FILE" restores every instance a journal's runs changed.
  --resume and undo read FILE and check it before anything is sent: a file that is not a journal of
  apply (the message names the line) exits 252; one written in another Region than the run's
  (--region, AWS_REGION, the profile) or another account than the credentials' (STS
  GetCallerIdentity; an endpoint that does not serve STS, such as the emulator, is asked for its
  instances' owner instead, and stderr says so) exits 253. A last line cut short (the run was killed
  while writing it, or the write failed) is ignored, with a note.

` + targetsUsage + `
` + globalUsage + `
` + exitCodeUsage

var subcommandUsage = map[string]string{
	"plan":                             planUsage,
	"apply":                            applyUsage,
	"modify-instance-metadata-options": modifyUsage,
	"describe":                         describeUsage,
	"resolve":                          resolveUsage,
	"emulator":                         emulatorUsage,
	"undo":                             undoUsage,

	// The account-wide subcommands.
	"get-instance-metadata-defaults":    getDefaultsUsage,
	"modify-instance-metadata-defaults": modifyDefaultsUsage,
	"templates":                         templatesUsage,
	"images":                            imagesUsage,
	"posture":                           postureUsage,
}
