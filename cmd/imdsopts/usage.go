package main

import "flag"

const exitCodeUsage = `Exit codes:
  0    success; also when a stopped instance accepted the change, which EC2 applies when it
       starts (a note on stderr says so)
  1    not ready to enforce IMDSv2: posture's verdict, or modify-instance-metadata-defaults refusing
       to enable enforcement (nothing was sent); the blockers are printed, in the order to fix them
  130  interrupted (Ctrl-C or SIGTERM), after printing what was done; a second one while it
       stops exits at once
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
                                    (the options and output of "aws ec2
                                    modify-instance-metadata-options")
  describe                          print the metadata options of an instance
  resolve                           print the metadata options an instance launched from an AMI
                                    gets, each with where it comes from
  plan                              print what apply would do to a fleet of instances, changing
                                    nothing
  apply                             change the metadata options of a fleet of instances, within
                                    EC2's rate limits, and report each instance's outcome; in waves
                                    watched for what the change breaks, and journaled, to resume or
                                    undo
  undo                              restore what the runs of a journal of apply changed
  emulator                          serve an in-memory EC2 and CloudWatch with EC2's semantics, for
                                    the AWS CLI, the SDKs and imdsopts, until Ctrl-C
  help [SUBCOMMAND]                 print this help, or the help of SUBCOMMAND (also SUBCOMMAND
                                    --help)

Making IMDSv2 stick (the account's defaults, templates and AMIs, for one account and Region):
  posture                           where the account stands, and whether it can enforce IMDSv2: the
                                    blockers in the order to fix them (exit 1 while not ready)
  get-instance-metadata-defaults    print the account's default metadata options (as the AWS CLI)
  modify-instance-metadata-defaults set them, sending only what changes; enabling enforcement
                                    (--http-tokens-enforced enabled) first checks that no launch
                                    would fail
  templates plan|apply              give each launch template that launches with IMDSv1 a new
                                    version that does not, copied from the version in use
  images set-imdsv2                 set ImdsSupport v2.0 on the account's own AMIs (cannot be
                                    undone)
`

const modifyUsage = `Usage: imdsopts modify-instance-metadata-options --instance-id ID [options]

Changes the metadata options of an instance, as "aws ec2 modify-instance-metadata-options"
does, after checking every value. At least one option is required (a flag or its member in
--cli-input-json); options not given are left as they are.

`

const describeUsage = `Usage: imdsopts describe --instance-id ID [global options]

Prints the current metadata options of an instance, in the shape of the output of
modify-instance-metadata-options.
`

const resolveUsage = `Usage: imdsopts resolve --image-id AMI [options]

Prints the metadata options an instance launched from AMI with the given launch
options gets, each with its source: "launch" (the options given here), "account"
(the account's defaults for the Region), "ami" (the AMI's ImdsSupport) or
"default" (EC2's built-in default). Calls GetInstanceMetadataDefaults and
DescribeImages; a failure of either is an error, never taken as "no preference".
`

// fleetChecksNote follows the safety flags of plan and apply.
const fleetChecksNote = `Checks made before anything is sent: a change EC2 would refuse as it is is not sent (cannot-apply):
InstanceMetadataTags enabled on an instance with a tag key EC2 cannot serve in the metadata (one
outside [0-9a-zA-Z\-_+=,.@:]{1,255}, or ".", ".." or "_index", such as kubernetes.io/cluster/NAME;
the Error names them), and HttpTokens, the hop limit or IPv6 on an instance whose endpoint is
disabled (with it off nothing reaches IMDS; --http-endpoint enabled turns it back on, a downgrade).
Each instance's owner, from its tags (an Elastic Beanstalk environment, an EKS managed node group,
Karpenter, a CloudFormation stack, an Auto Scaling group), undoes a change made in place when it
replaces or updates the instance: the output names it and where the lasting fix goes.

`

// rolloutNote follows the rollout flags of plan and apply.
const rolloutNote = `  With --http-tokens required, each bake reads CloudWatch's MetadataNoTokenRejected (the IMDSv1
  calls an instance refused because it requires tokens) of every instance changed so far, each since
  its wave began. EC2 publishes that metric only for a period with a refused call: a period without
  one counts as measured when CloudWatch has the instance's CPUUtilization for it. A wave passes
  only when every change it made was seen applied and measured to the end of its bake. One rejected
  call, or a reading that is not a complete measurement (a failed call, data that does not reach the
  end of the bake --max-data-delay after it, a change not seen applied), fails the wave: the rollout
  halts (no new wave starts: the rest are not-attempted) and restores what --rollback says to
  exactly the five options each instance had before. Other changes go in waves with their bakes too,
  but no metric counts what they break. For the changes from HttpTokens
  optional to required, plan and apply read the account's enforcement of IMDSv2
  (GetInstanceMetadataDefaults): where the account enforces IMDSv2, EC2 refuses to make HttpTokens
  optional again, so neither a rollback, nor undo, nor a person could restore them. The plan lists
  them (Irreversible, and stderr says so); apply, with a rollout, a journal or neither, refuses to
  change anything while there are any, unless --accept-irreversible (which, without a rollout or
  journal, also skips the read); a halted rollout reports them needs-person.

`

// fleetNotes are plan's and apply's output, statuses and exit status.
const fleetNotes = `Output (--output json, the default): {"Items": [{"InstanceId", "InstanceState", "Status", "Wave",
"Changes", "Downgrade", "IMDSv1Calls", "RejectedCalls", "Error", "MetadataOptions", "Owner":
{"Kind", "Name", "Fix"}, "Container"}, ...], "Irreversible": [ID, ...], "Waves": [...], "Counts":
{STATUS: N, ...}, "Calls": {OPERATION: N, ...}, "Throttled": N (apply only), "ElapsedSeconds": S}.
Changes holds the fields the call sends, MetadataOptions the options as listed (plan) or last seen
(apply), IMDSv1Calls the gate's count, only for the instances it read, Owner the instance's owner
and where the lasting fix goes, Container what shows a container host. With a rollout: Wave is the
instance's wave (1 for the canary), RejectedCalls the IMDSv1 calls it rejected since its wave began,
for the instances the watch measured; Waves are, in a plan, {"Wave", "Instances"}, and in a report,
each wave as its bake ended: {"Wave", "Instances", "Started", "Ended", "Watched", "Rejected"
(instances), "Result" (passed, failed, interrupted), "Error"}. Irreversible is there when the
account's enforcement was read. --query applies to it (a query that cannot work on this shape is
refused before anything is sent); --output text without --query prints one instance a line (with a
rollout, with its WAVE and REJECTED calls, then one wave a line), then each owner, its instances and
where the fix goes.

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
changed as it is (EC2's rules would refuse it, as EC2 itself would answer), else 255 (timed out
waiting for EC2, connection failed). A rollout that halted exits 254 when instances rejected IMDSv1
calls (the service's answer: the change broke them), and when their calls could not be measured, 254
for an error of CloudWatch, else 255 (no datapoint). apply refusing changes that could not be undone
exits 254, having changed nothing. A journal that could not be written exits 255. 130 on Ctrl-C:
apply prints the report so far (changed but not yet seen applied: failed; not yet called:
not-attempted). Once made, the plan or report is printed whatever the exit status. On a terminal,
stderr shows a progress line: the calls made, then the instances done; with a rollout, the wave
under way, its size, the time left of its bake, and the instances that rejected IMDSv1 calls.
`

// targetsTitle heads the target flags in the help of the subcommands
// that take them.
const targetsTitle = `Accounts and Regions (global options; without them, the account of the credentials in
--region, as always). With any of them, every account/Region is a target of its own, worked
on side by side with its own clients and within its own EC2 rate limits:`

// targetsNote follows the target flags.
const targetsNote = `Without --role-arn, --role-arns-file or --organization-role, the account is the caller's own (STS
GetCallerIdentity). STS, Organizations and DescribeRegions are called in --region. Every value is
checked before any call. Credentials are never printed.
`

// targetsUsage describes plan's and apply's output across targets.
const targetsUsage = `Output across targets (--output json): {"Targets": [{"Account", "Region", "Error", "Items",
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

// accountTargetsNote follows the target flags in the help of the
// account-wide subcommands: their output across targets, then extra, what
// the subcommand adds.
func accountTargetsNote(extra string) string {
	return targetsNote + accountTargetsUsage + extra
}

// accountTargetsUsage describes the output of the account-wide subcommands
// across targets (see runAccountAcross).
const accountTargetsUsage = `
Across targets, the subcommand does in every account/Region what it does in one, side by side, and
prints one entry a target, by account then Region. --output json is {"Targets": [{"Account",
"Region", ..., "Error"}, ...], "TargetsFailed": N, "ElapsedSeconds": S}: each entry holds the
members of the output of one account, and "Error" when the target failed (an account whose Regions
could not be listed has no "Region"); "Counts", "Calls" and "Throttled", when the output of one
account has them, are also added up over the targets. --output text prints the lines of one
account, each after its account and Region, and a line "target-failed" with the error for each
target that failed. A target that fails does not stop the others, and counts as a failure of one
account: the exit status is 0 when every target is done, else 254 when the service answered, else
255. Every value is checked before any target is reached. On a terminal, stderr shows the targets
done.
`

const planUsage = `Usage: imdsopts plan SELECTION OPTIONS [options]

Lists the selected instances (every page) and prints, instance by instance, what apply would do:
the fields that change, satisfied instances, stopped ones (the change applies when they start),
downgrades, and, when --http-tokens required is asked, the IMDSv1 gate's verdict. Changes nothing:
only DescribeInstances and, for the gate, CloudWatch GetMetricData are called.
`

const applyUsage = `Usage: imdsopts apply SELECTION OPTIONS [options]
       imdsopts apply --resume FILE [safety and output options]
       imdsopts apply --resume DIR TARGET FLAGS [safety and output options]

Makes the plan (see "imdsopts help plan"), then calls ModifyInstanceMetadataOptions once for
each instance that needs it, sending only the fields that change, paced to EC2's request limits
and retried on throttling; then waits until EC2 reports each change applied, and prints the
report. Held, refused, cannot-apply and satisfied instances are not called for. On a terminal,
stderr shows a progress line.

`

// journalNote follows the journal flags of apply.
const journalNote = `  "imdsopts undo FILE" restores every instance a journal's runs changed.
  Both --resume and undo read FILE and check it before anything is sent: a file that is not a
  journal of apply (the message names the line) exits 252; one written in another Region than the
  run's (--region, AWS_REGION, the profile) or another account than the credentials' (STS
  GetCallerIdentity; an endpoint that does not serve STS, such as the emulator, is asked for its
  instances' owner instead, and stderr says so) exits 253. A last line cut short (the run was killed
  while writing it, or the write failed) is ignored, with a note.
`

// Headings of the global options.
const (
	globalTitle     = "Global options (before or after the subcommand):"
	otherTargets    = `Accounts and Regions (global options that plan, apply, undo, posture, get- and modify-instance-metadata-defaults, templates and images take, side by side; see "imdsopts help plan"; the other subcommands refuse them):`
	applyTargets    = `Accounts and Regions (global options; see "imdsopts help apply"):`
	emulatorGlobals = "Global options (accepted, and all but -h, --help and --version ignored):"
)

// helpOf returns the hand-written part of the help of subcommand name, or
// of the command itself for "".
func helpOf(name string) commandHelp {
	global := flagGroup{title: globalTitle, register: func(fs *flag.FlagSet) { newGlobals().registerOwn(fs) }}
	targets := func(title string) flagGroup {
		return flagGroup{title: title, register: func(fs *flag.FlagSet) { new(targetFlags).register(fs) }, names: true}
	}
	targetsFull := func(note string) flagGroup {
		return flagGroup{title: targetsTitle, register: func(fs *flag.FlagSet) { new(targetFlags).register(fs) }, note: note}
	}
	options := func(title string) flagGroup {
		return flagGroup{title: title, register: func(fs *flag.FlagSet) { new(optionFlags).register(fs) }}
	}
	plain := func(synopsis, notes string) commandHelp {
		return commandHelp{synopsis: synopsis, notes: notes, groups: []flagGroup{global, targets(otherTargets)}}
	}
	switch name {
	case "":
		return commandHelp{synopsis: usage, groups: []flagGroup{global, targets(otherTargets)}}
	case "modify-instance-metadata-options":
		return plain(modifyUsage, "")
	case "describe":
		return plain(describeUsage, "")
	case "resolve":
		return commandHelp{synopsis: resolveUsage, groups: []flagGroup{
			options("Launch options (those of RunInstances' MetadataOptions):"), global, targets(otherTargets)}}
	case "plan", "apply":
		groups := []flagGroup{
			{title: "Selection (at least one; an instance must match all given):",
				register: func(fs *flag.FlagSet) { newFleetFlags().registerSelection(fs) }},
			options("Options to set (at least one; options not given are left as they are):"),
			{title: "Safety:", register: func(fs *flag.FlagSet) { newFleetFlags().registerSafety(fs) }, note: fleetChecksNote},
			{title: "Rollout (plan numbers the waves; apply changes them one after the other):",
				register: func(fs *flag.FlagSet) { newRolloutFlags().register(fs) }, note: rolloutNote},
		}
		synopsis := planUsage
		if name == "apply" {
			synopsis = applyUsage
			groups = append(groups, flagGroup{title: "Journal (apply only):",
				register: func(fs *flag.FlagSet) { newFleetFlags().registerJournal(fs) }, note: journalNote})
		}
		groups = append(groups, targetsFull(targetsNote+"\n"+targetsUsage), global)
		return commandHelp{synopsis: synopsis, groups: groups, notes: fleetNotes}
	case "undo":
		return commandHelp{synopsis: undoUsage, groups: []flagGroup{global, targets(applyTargets)}}
	case "emulator":
		return commandHelp{synopsis: emulatorUsage, notes: emulatorNotes,
			groups: []flagGroup{{title: emulatorGlobals, register: func(fs *flag.FlagSet) { newGlobals().register(fs) }, names: true}}}
	case "get-instance-metadata-defaults":
		return commandHelp{synopsis: getDefaultsUsage, groups: []flagGroup{targetsFull(accountTargetsNote(getDefaultsAcross)), global}}
	case "modify-instance-metadata-defaults":
		return commandHelp{synopsis: modifyDefaultsUsage, notes: modifyDefaultsNotes,
			optionsTitle: "Options (at least one of the five options, or its member in --cli-input-json):",
			groups:       []flagGroup{targetsFull(accountTargetsNote(modifyDefaultsAcross)), global}}
	case "templates":
		return commandHelp{synopsis: templatesUsage, notes: templatesNotes, groups: []flagGroup{
			options("Options to set (at least one; options not given are kept from the version in use):"),
			targetsFull(accountTargetsNote("")), global}}
	case "images":
		return commandHelp{synopsis: imagesUsage, notes: imagesNotes, groups: []flagGroup{targetsFull(accountTargetsNote(imagesAcross)), global}}
	case "posture":
		return commandHelp{synopsis: postureUsage, notes: postureNotes, groups: []flagGroup{targetsFull(targetsNote + posturesUsage), global}}
	}
	return commandHelp{}
}
