package fleet

import "errors"

// Outcomes of fleet operations that callers branch on with errors.Is, beside
// the ones of package imdsopts (such as [imdsopts.ErrDowngrade] and
// [imdsopts.ErrTooManyFailures]) that they also return.
var (
	// ErrIMDSv1InUse: the instance answered IMDSv1 calls (CloudWatch
	// MetadataNoToken) within Options.IMDSv1Window, so requiring tokens
	// would break whatever made them.
	ErrIMDSv1InUse = errors.New("instance used IMDSv1")
	// ErrIMDSv1Unknown: the instance's IMDSv1 use over the window could not
	// be measured (CloudWatch failed, answered incompletely, or has no
	// datapoint), so the gate holds it as it would one that used IMDSv1; or
	// a rollout could not measure the IMDSv1 calls it rejected, so the
	// rollout halts as it would for rejected calls.
	ErrIMDSv1Unknown = errors.New("IMDSv1 use unknown")
	// ErrIMDSv1Rejected: the instance refused IMDSv1 calls after a rollout
	// made it require tokens (CloudWatch MetadataNoTokenRejected above
	// zero): software on it still uses IMDSv1, and the change broke it.
	ErrIMDSv1Rejected = errors.New("instance rejected IMDSv1 calls")
	// ErrRolloutHalted: a wave of a [Rollout] failed, so the rollout
	// stopped: instances of later waves are reported StatusNotAttempted.
	// The error says why the wave failed.
	ErrRolloutHalted = errors.New("rollout halted")
	// ErrJournalWrite: a record of Options.Journal could not be
	// written, so the operation stopped before its next call: nothing was
	// changed that the journal does not record.
	ErrJournalWrite = errors.New("journal not written")
	// ErrBadJournal: [ReadJournal] refused a journal: it is not one this
	// package wrote (the message names the line), was written in another
	// account or Region, or says what Resume cannot go on with.
	ErrBadJournal = errors.New("journal refused")
	// ErrChangedSince: the instance's options are neither those a journal
	// recorded before its run nor any it set: someone changed them since,
	// so [Undo] leaves them to a person (StatusNeedsPerson).
	ErrChangedSince = errors.New("options changed since the journal's run")
	// ErrExcluded: a named instance exists but the Selection's filters or
	// tags leave it out.
	ErrExcluded = errors.New("excluded by the selection")
	// ErrIrreversible: the operation would make changes that the account's
	// enforcement of IMDSv2 makes one-way (HttpTokens from "optional" to
	// "required" while HttpTokensEnforced is "enabled": EC2 would refuse to
	// make it "optional" again, so neither a rollback nor [Undo] could
	// restore them), and Options.AcceptIrreversible was not set. Nothing
	// was changed; the message names how many instances.
	ErrIrreversible = errors.New("one-way changes not accepted")
	// ErrContainerHopLimit: the change would make a container host (see
	// Item.Container) require tokens with a hop limit below 2. A
	// container is one network hop further from IMDS than its instance, so
	// its token requests get no answer, its SDKs time out and fall back to
	// IMDSv1, which is then refused; its IMDSv1 calls look like any other
	// to the IMDSv1 gate. The instance is held (StatusHeld);
	// Options.ContainerHopLimit gives it the hop limit it needs in the
	// same change.
	ErrContainerHopLimit = errors.New("container host would require tokens with a hop limit below 2")
	// ErrTagKeys: the change turns instance tags in the metadata on
	// (InstanceMetadataTags "enabled") for an instance with a tag key EC2
	// cannot serve there: one outside [0-9a-zA-Z\-_+=,.@:]{1,255}, or
	// ".", ".." or "_index" (Kubernetes' and Karpenter's keys with a
	// slash are such keys). EC2 refuses the call (InvalidParameterValue),
	// so it is not sent (StatusCannotApply); the message names the keys.
	ErrTagKeys = errors.New("tag keys EC2 cannot serve in the instance metadata")
	// ErrEndpointDisabled: the change sets HttpTokens, the hop limit or
	// HttpProtocolIpv6 on an instance whose metadata endpoint is disabled
	// after the call (it is, and the change does not enable it, or the
	// change disables it). EC2 refuses those unless the same call enables
	// the endpoint, so it is not sent (StatusCannotApply). With the
	// endpoint off, nothing on the instance reaches IMDS; enabling it is a
	// downgrade (see [imdsopts.Set.Downgrade]).
	ErrEndpointDisabled = errors.New("metadata endpoint disabled")
)
