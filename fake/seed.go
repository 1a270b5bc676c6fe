package fake

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Seed describes an account to start a test with: its images, instances
// (with their history of IMDSv1 calls in CloudWatch), launch templates,
// Auto Scaling groups, default metadata options and a declarative policy.
// It is also the JSON document that "imdsopts emulator --seed FILE" reads,
// so a Go test and the emulator share one description of an account.
// [ReadSeed] reads and checks one; [Seed.Apply] makes it in the fakes of
// an account and Region.
//
// In JSON every key is optional and spelled exactly as the field (or its
// json tag) is; see "Seed documents" in the package documentation and
// the built-in accounts of [BuiltinSeed], whose documents use every key.
type Seed struct {
	// Images are registered in order. Without any, one image named "base"
	// is.
	Images []SeedImage `json:"Images,omitempty"`

	// Instances are groups of instances launched alike.
	Instances []SeedInstances `json:"Instances,omitempty"`

	// LaunchTemplates are created after the instances.
	LaunchTemplates []SeedLaunchTemplate `json:"LaunchTemplates,omitempty"`

	// AutoScalingGroups are created after the launch templates, with the
	// API of [AutoScaling]: their launches are RunInstances calls.
	AutoScalingGroups []SeedAutoScalingGroup `json:"AutoScalingGroups,omitempty"`

	// AccountDefaults are set after the launches, as
	// ModifyInstanceMetadataDefaults sets them: they describe the account
	// now, not what its instances launched with.
	AccountDefaults *SeedAccountDefaults `json:"AccountDefaults,omitempty"`

	// DeclarativePolicy then manages the account's defaults, as
	// [EC2.SetDeclarativePolicy] does: its fields replace the account's,
	// and the account cannot change them.
	DeclarativePolicy *DeclarativePolicy `json:"DeclarativePolicy,omitempty"`
}

// SeedImage is an image of a [Seed].
type SeedImage struct {
	// Name is the image's name, by which instances and templates name it;
	// required, and unique.
	Name string `json:"Name"`

	// ImdsSupport is "v2.0" or empty.
	ImdsSupport types.ImdsSupportValues `json:"ImdsSupport,omitempty"`
}

// SeedInstances are instances of a [Seed] launched alike: with
// [EC2.Launch], their metadata options resolved as RunInstances resolves
// them, then stopped or terminated as State says.
type SeedInstances struct {
	// Count is the number of instances: 1..MaxSeedInstances.
	Count int `json:"Count"`

	// Image names an image of the seed; it may be empty when the seed has
	// at most one.
	Image string `json:"Image,omitempty"`

	// InstanceType is the instances' type, such as "t3.micro"; empty by
	// default.
	InstanceType types.InstanceType `json:"InstanceType,omitempty"`

	// State is "running" (or empty), "stopped" or "terminated".
	State types.InstanceStateName `json:"State,omitempty"`

	// Monitoring is "basic" (or empty) or "detailed": a tied CloudWatch
	// publishes the instances' metrics every 5 minutes, or every minute.
	Monitoring string `json:"Monitoring,omitempty"`

	// MetadataOptions are the launch parameters; nil gives none.
	MetadataOptions *SeedMetadataOptions `json:"MetadataOptions,omitempty"`

	// Tags are the instances' tags. Keys with the prefix "aws:" are
	// allowed, as a service that launched them would put them.
	Tags map[string]string `json:"Tags,omitempty"`

	// MetadataNoToken is the instances' history of IMDSv1 calls; without
	// it they have no datapoints before Apply.
	MetadataNoToken *SeedMetadataNoToken `json:"MetadataNoToken,omitempty"`

	// LateIMDSv1Calls is software that calls IMDSv1 only once the
	// instances require tokens; see [EC2.CallIMDSv1OnceRequired]. It is
	// ignored for terminated instances.
	LateIMDSv1Calls *SeedLateIMDSv1Calls `json:"LateIMDSv1Calls,omitempty"`
}

// SeedMetadataOptions are the metadata options of a launch, or of a launch
// template version, of a [Seed], as RunInstances and CreateLaunchTemplate
// take them; EC2's rules check the values when the seed is applied. An
// empty field is not given.
type SeedMetadataOptions struct {
	HttpTokens              string `json:"HttpTokens,omitempty"`
	HttpPutResponseHopLimit *int32 `json:"HttpPutResponseHopLimit,omitempty"`
	HttpEndpoint            string `json:"HttpEndpoint,omitempty"`
	HttpProtocolIpv6        string `json:"HttpProtocolIpv6,omitempty"`
	InstanceMetadataTags    string `json:"InstanceMetadataTags,omitempty"`
}

// SeedAccountDefaults are the default metadata options of the account of
// a [Seed], as ModifyInstanceMetadataDefaults takes them. An empty field
// is not given.
type SeedAccountDefaults struct {
	HttpTokens              string `json:"HttpTokens,omitempty"`
	HttpPutResponseHopLimit *int32 `json:"HttpPutResponseHopLimit,omitempty"`
	HttpEndpoint            string `json:"HttpEndpoint,omitempty"`
	InstanceMetadataTags    string `json:"InstanceMetadataTags,omitempty"`
	HttpTokensEnforced      string `json:"HttpTokensEnforced,omitempty"`
}

// SeedMetadataNoToken is a history of IMDSv1 calls: one MetadataNoToken
// datapoint a day of PerDay calls, for each of the last Days days, put in
// the [CloudWatch] given to [Seed.Apply]. PerDay 0 is a measured zero.
type SeedMetadataNoToken struct {
	// PerDay is the calls a day: a number, 0 or more.
	PerDay float64 `json:"PerDay"`

	// Days is the number of days, 1..455; nil gives 14.
	Days *int `json:"Days,omitempty"`
}

// SeedLateIMDSv1Calls is software that starts calling IMDSv1 once its
// instance requires tokens; see [EC2.CallIMDSv1OnceRequired].
type SeedLateIMDSv1Calls struct {
	// PerMinute is the calls a minute: above 0, at most 1000000.
	PerMinute float64 `json:"PerMinute"`
}

// SeedLaunchTemplate is a launch template of a [Seed]: version 1, 2...
// from the entries of Versions, each from Image and InstanceType.
type SeedLaunchTemplate struct {
	// Name is the template's name: required, unique, and as EC2 allows.
	Name string `json:"Name"`

	// Image names an image of the seed, as SeedInstances.Image does.
	Image string `json:"Image,omitempty"`

	// InstanceType is the type of the instances it launches.
	InstanceType types.InstanceType `json:"InstanceType,omitempty"`

	// Versions are the template's versions: 1..100 of them.
	Versions []SeedLaunchTemplateVersion `json:"Versions"`

	// DefaultVersion is the default version; nil gives 1.
	DefaultVersion *int `json:"DefaultVersion,omitempty"`
}

// SeedLaunchTemplateVersion is a version of a [SeedLaunchTemplate]. The
// zero value is a version without metadata options.
type SeedLaunchTemplateVersion struct {
	// MetadataOptions are the version's metadata options; nil gives none.
	MetadataOptions *SeedMetadataOptions `json:"MetadataOptions,omitempty"`

	// UserData is the version's user data as text, at most 16 KB (EC2
	// takes it base64-encoded: Apply encodes it).
	UserData string `json:"UserData,omitempty"`

	// Tags go on the instances the version launches (TagSpecifications
	// of resource type instance).
	Tags map[string]string `json:"Tags,omitempty"`
}

// SeedAutoScalingGroup is an Auto Scaling group of a [Seed], launching
// from a launch template of the seed.
type SeedAutoScalingGroup struct {
	// Name is the group's name: required, unique, and as EC2 Auto
	// Scaling allows.
	Name string `json:"Name"`

	// LaunchTemplate names a launch template of the seed.
	LaunchTemplate string `json:"LaunchTemplate"`

	// Version is "$Default" (or empty), "$Latest" or a version number of
	// the template.
	Version string `json:"Version,omitempty"`

	// DesiredCapacity is the number of instances the group launches:
	// 0..1000.
	DesiredCapacity int `json:"DesiredCapacity,omitempty"`

	// Tags are the group's tags, propagated to its instances.
	Tags map[string]string `json:"Tags,omitempty"`

	// ServiceTags are tags with the prefix "aws:" that the AWS service
	// that made the group puts on it (CloudFormation's
	// aws:cloudformation:stack-name, for a stack's or an Elastic
	// Beanstalk environment's group), which callers cannot set: see
	// [AutoScaling.TagAsService]. They are propagated like Tags.
	ServiceTags map[string]string `json:"ServiceTags,omitempty"`

	// MetadataNoToken is the history of IMDSv1 calls of the group's
	// instances.
	MetadataNoToken *SeedMetadataNoToken `json:"MetadataNoToken,omitempty"`
}

// Limits of a [Seed].
const (
	// MaxSeedInstances is the most instances a seed launches, its
	// instances' Count and its groups' DesiredCapacity together.
	MaxSeedInstances = 100000

	// MaxSeedBytes is the size of the largest document ReadSeed reads.
	MaxSeedBytes = 4 << 20

	maxSeedVersions      = 100
	maxSeedGroupCapacity = 1000
	maxSeedUserData      = 16 << 10 // EC2's limit of user data, before base64
	maxSeedLateRate      = 1e6
	maxSeedDays          = 455 // CloudWatch keeps datapoints of an hour for 455 days
	defaultSeedDays      = 14
)

// ReadSeed reads a seed document, JSON of at most [MaxSeedBytes], from r
// and checks it: every key of an object spelled exactly as a field of
// [Seed] and its parts (encoding/json alone would match keys without
// regard to case, and keep the last of keys given twice), each given
// once, values of the right types and within the limits their fields
// document, and names that refer to what the document defines. The
// values EC2 validates itself (the metadata options, the names of
// templates and groups) are checked by the fakes, with EC2's rules, when
// the seed is applied. An error names the place in the document, the
// value and the rule, such as
//
//	Instances[0].Count 0: must be 1..100000
func ReadSeed(r io.Reader) (*Seed, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSeedBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSeedBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxSeedBytes)
	}
	if err := checkJSONKeys(b, reflect.TypeFor[Seed]()); err != nil {
		return nil, err
	}
	var s Seed
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkJSONKeys walks the JSON document b against the Go type t: every key
// of an object must be exactly the json name of an exported field of the
// structure, given once. Maps take any keys, once each.
func checkJSONKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := walkJSON(dec, t, "the document"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("more than one JSON value")
	}
	return nil
}

// jsonName is the name encoding/json gives field f, or "" when it skips
// it.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

func walkJSON(dec *json.Decoder, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonError(path, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar; its type is checked when decoding
	}
	switch d {
	case '[':
		elem := t
		if t.Kind() == reflect.Slice {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkJSON(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsonError(path, err)
			}
			k := kt.(string)
			if seen[k] {
				return fmt.Errorf("%s: key %q given twice", path, k)
			}
			seen[k] = true
			ft := t
			if t.Kind() == reflect.Struct {
				var names []string
				ft = nil
				for i := range t.NumField() {
					name := jsonName(t.Field(i))
					if name == "" {
						continue
					}
					names = append(names, strconv.Quote(name))
					if name == k {
						ft = t.Field(i).Type
					}
				}
				if ft == nil {
					return fmt.Errorf("%s: unknown key %q (the keys are %s, spelled exactly so)", path, k, strings.Join(names, ", "))
				}
			} else if t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := walkJSON(dec, ft, path+"."+k); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return jsonError(path, err)
	}
	return nil
}

// jsonError is an error of the JSON decoder at path.
func jsonError(path string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: %w", path, err)
}

// check validates what the fakes do not: counts, states, names, days.
// Option values are validated by the fakes when seeding, with EC2's rules.
func (s *Seed) check() error {
	names := map[string]bool{}
	for i, im := range s.Images {
		if im.Name == "" {
			return fmt.Errorf("Images[%d].Name: required", i)
		}
		if names[im.Name] {
			return fmt.Errorf("Images[%d].Name %q: given twice", i, im.Name)
		}
		names[im.Name] = true
		if im.ImdsSupport != "" && im.ImdsSupport != types.ImdsSupportValuesV20 {
			return fmt.Errorf("Images[%d].ImdsSupport %q: must be \"v2.0\" or absent", i, im.ImdsSupport)
		}
	}
	image := func(where, name string) error {
		switch {
		case name == "" && len(s.Images) > 1:
			return fmt.Errorf("%s.Image: required when there are several images", where)
		case name != "" && !names[name] && !(len(s.Images) == 0 && name == "base"):
			return fmt.Errorf("%s.Image %q: not an image of the seed", where, name)
		}
		return nil
	}
	total := 0
	for i, g := range s.Instances {
		where := fmt.Sprintf("Instances[%d]", i)
		if g.Count < 1 || g.Count > MaxSeedInstances {
			return fmt.Errorf("%s.Count %d: must be 1..%d", where, g.Count, MaxSeedInstances)
		}
		total += g.Count
		if err := image(where, g.Image); err != nil {
			return err
		}
		switch g.State {
		case "", types.InstanceStateNameRunning, types.InstanceStateNameStopped, types.InstanceStateNameTerminated:
		default:
			return fmt.Errorf("%s.State %q: must be \"running\", \"stopped\" or \"terminated\"", where, g.State)
		}
		switch g.Monitoring {
		case "", "basic", "detailed":
		default:
			return fmt.Errorf("%s.Monitoring %q: must be \"basic\" or \"detailed\"", where, g.Monitoring)
		}
		if err := checkSeedMetric(where, g.MetadataNoToken); err != nil {
			return err
		}
		if err := checkSeedTagKeys(where+".Tags", g.Tags); err != nil {
			return err
		}
		if l := g.LateIMDSv1Calls; l != nil && !(l.PerMinute > 0 && l.PerMinute <= maxSeedLateRate) {
			return fmt.Errorf("%s.LateIMDSv1Calls.PerMinute %v: must be a number above 0, at most 1000000", where, l.PerMinute)
		}
	}
	templates := map[string]int{} // versions by name
	for i, lt := range s.LaunchTemplates {
		where := fmt.Sprintf("LaunchTemplates[%d]", i)
		switch {
		case lt.Name == "":
			return fmt.Errorf("%s.Name: required", where)
		case templates[lt.Name] > 0:
			return fmt.Errorf("%s.Name %q: given twice", where, lt.Name)
		case len(lt.Versions) < 1 || len(lt.Versions) > maxSeedVersions:
			return fmt.Errorf("%s.Versions: %d given, must be 1..%d", where, len(lt.Versions), maxSeedVersions)
		case lt.DefaultVersion != nil && (*lt.DefaultVersion < 1 || *lt.DefaultVersion > len(lt.Versions)):
			return fmt.Errorf("%s.DefaultVersion %d: must be a version of the template, 1..%d", where, *lt.DefaultVersion, len(lt.Versions))
		}
		if err := image(where, lt.Image); err != nil {
			return err
		}
		for n, v := range lt.Versions {
			if len(v.UserData) > maxSeedUserData {
				return fmt.Errorf("%s.Versions[%d].UserData: %d bytes; EC2 takes at most %d", where, n, len(v.UserData), maxSeedUserData)
			}
			if err := checkSeedTagKeys(fmt.Sprintf("%s.Versions[%d].Tags", where, n), v.Tags); err != nil {
				return err
			}
		}
		templates[lt.Name] = len(lt.Versions)
	}
	groups := map[string]bool{}
	for i, g := range s.AutoScalingGroups {
		where := fmt.Sprintf("AutoScalingGroups[%d]", i)
		switch {
		case g.Name == "":
			return fmt.Errorf("%s.Name: required", where)
		case groups[g.Name]:
			return fmt.Errorf("%s.Name %q: given twice", where, g.Name)
		case templates[g.LaunchTemplate] == 0:
			return fmt.Errorf("%s.LaunchTemplate %q: not a launch template of the seed", where, g.LaunchTemplate)
		case g.DesiredCapacity < 0 || g.DesiredCapacity > maxSeedGroupCapacity:
			return fmt.Errorf("%s.DesiredCapacity %d: must be 0..%d", where, g.DesiredCapacity, maxSeedGroupCapacity)
		}
		switch v := g.Version; v {
		case "", "$Default", "$Latest":
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > templates[g.LaunchTemplate] || strconv.Itoa(n) != v {
				return fmt.Errorf("%s.Version %q: must be \"$Default\", \"$Latest\" or a version of the template, 1..%d", where, v, templates[g.LaunchTemplate])
			}
		}
		if err := checkSeedMetric(where, g.MetadataNoToken); err != nil {
			return err
		}
		if err := checkSeedTagKeys(where+".Tags", g.Tags); err != nil {
			return err
		}
		for k := range g.ServiceTags {
			if !strings.HasPrefix(k, "aws:") {
				return fmt.Errorf("%s.ServiceTags: key %q: must begin with \"aws:\" (the others go in Tags)", where, k)
			}
		}
		groups[g.Name] = true
		total += g.DesiredCapacity
	}
	if total > MaxSeedInstances {
		return fmt.Errorf("the Instances and the groups' DesiredCapacity add up to %d; at most %d", total, MaxSeedInstances)
	}
	return nil
}

// checkSeedTagKeys refuses an empty tag key.
func checkSeedTagKeys(where string, tags map[string]string) error {
	if _, ok := tags[""]; ok {
		return fmt.Errorf("%s: a key is empty", where)
	}
	return nil
}

// checkSeedMetric checks a MetadataNoToken of a seed.
func checkSeedMetric(where string, m *SeedMetadataNoToken) error {
	if m == nil {
		return nil
	}
	if m.PerDay < 0 || math.IsNaN(m.PerDay) || math.IsInf(m.PerDay, 0) {
		return fmt.Errorf("%s.MetadataNoToken.PerDay %v: must be a number, 0 or more", where, m.PerDay)
	}
	if m.Days != nil && (*m.Days < 1 || *m.Days > maxSeedDays) {
		return fmt.Errorf("%s.MetadataNoToken.Days %d: must be 1..%d", where, *m.Days, maxSeedDays)
	}
	return nil
}

// SeedResult is what [Seed.Apply] made.
type SeedResult struct {
	// Images are the IDs of the images registered, by name.
	Images map[string]string

	// Instances are the IDs of the instances of each entry of
	// Seed.Instances, in its order.
	Instances [][]string

	// LaunchTemplates are the IDs of the launch templates, by name.
	LaunchTemplates map[string]string

	// AutoScalingGroups are the IDs of the instances each group launched,
	// by name.
	AutoScalingGroups map[string][]string

	// Running, Stopped and Terminated count the instances launched, by
	// their state once seeded; the groups' instances run.
	Running, Stopped, Terminated int

	// WithHistory counts the instances given a history of IMDSv1 calls
	// (MetadataNoToken).
	WithHistory int

	// LateIMDSv1Calls counts the instances whose software calls IMDSv1
	// once they require tokens.
	LateIMDSv1Calls int
}

// seedAPIError is an error of a fake's API while seeding: its code and
// message, as a person reads them.
type seedAPIError struct{ err smithy.APIError }

func (e seedAPIError) Error() string { return e.err.ErrorCode() + ": " + e.err.ErrorMessage() }
func (e seedAPIError) Unwrap() error { return e.err }

// Apply makes the account s describes in the fakes of one account and
// Region: f, the Auto Scaling as that launches into it, and cw, tied to f
// with [CloudWatchOptions.EC2] so that it publishes the instances' metrics
// from then on. It registers the images, launches the instances (stopped
// or terminated as asked), puts their history of IMDSv1 calls in cw (days
// ending at time.Now, so it works in a testing/synctest bubble), creates
// the launch templates and the Auto Scaling groups, and sets the account
// defaults and the declarative policy, in that order. as may be nil when s
// has no Auto Scaling groups, and cw when it has no MetadataNoToken.
//
// Apply is seeding, as [EC2.Launch] is: it takes no token from the
// buckets of [Options.Throttle], and the instances it launches are found
// at once, whatever [Options.PropagationDelay]. Each call of the fakes'
// API it makes is counted by their Calls, and FailNext and Deny apply to
// them. It checks s as ReadSeed does first. A value the fakes refuse is
// an error that names the place in s and wraps the fake's error, such as
//
//	seed Instances[0]: InvalidParameterValue: Value (65) for parameter HttpPutResponseHopLimit is invalid.
//
// and what was seeded before it stays.
func (s *Seed) Apply(ctx context.Context, f *EC2, as *AutoScaling, cw *CloudWatch) (*SeedResult, error) {
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	switch {
	case f == nil:
		return nil, errors.New("seed: no EC2 to seed")
	case as == nil && len(s.AutoScalingGroups) > 0:
		return nil, errors.New("seed AutoScalingGroups: no AutoScaling to seed them in")
	case as != nil && as.EC2() != f:
		return nil, errors.New("seed: the AutoScaling launches into another EC2")
	case cw == nil && s.hasHistory():
		return nil, errors.New("seed MetadataNoToken: no CloudWatch to put the history in")
	}
	var (
		res *SeedResult
		err error
	)
	f.Unthrottled(func() { res, err = s.apply(ctx, f, as, cw, time.Now()) })
	// The seeded instances were there before the test: found at once.
	f.Propagate()
	return res, err
}

// hasHistory reports whether s puts datapoints in CloudWatch.
func (s *Seed) hasHistory() bool {
	for _, g := range s.Instances {
		if g.MetadataNoToken != nil {
			return true
		}
	}
	for _, g := range s.AutoScalingGroups {
		if g.MetadataNoToken != nil {
			return true
		}
	}
	return false
}

// apply is Apply, with the buckets out of the way.
func (s *Seed) apply(ctx context.Context, f *EC2, as *AutoScaling, cw *CloudWatch, now time.Time) (*SeedResult, error) {
	res := &SeedResult{Images: map[string]string{}, LaunchTemplates: map[string]string{}, AutoScalingGroups: map[string][]string{}}
	fail := func(where string, err error) (*SeedResult, error) {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			err = seedAPIError{apiErr}
		}
		return nil, fmt.Errorf("seed %s: %w", where, err)
	}
	list := s.Images
	if len(list) == 0 {
		list = []SeedImage{{Name: "base"}}
	}
	for i, im := range list {
		out, err := f.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(im.Name), ImdsSupport: im.ImdsSupport})
		if err != nil {
			return fail(fmt.Sprintf("Images[%d]", i), err)
		}
		res.Images[im.Name] = aws.ToString(out.ImageId)
	}
	imageID := func(name string) string {
		if name == "" {
			name = list[0].Name
		}
		return res.Images[name]
	}
	putHistory := func(ids []string, m *SeedMetadataNoToken) {
		days := defaultSeedDays
		if m.Days != nil {
			days = *m.Days
		}
		for _, id := range ids {
			for d := range days {
				cw.PutMetadataNoToken(id, now.Add(-time.Duration(d)*24*time.Hour-30*time.Minute), m.PerDay)
			}
		}
		res.WithHistory += len(ids)
	}
	for i, g := range s.Instances {
		where := fmt.Sprintf("Instances[%d]", i)
		ids, err := f.Launch(g.Count, func(o *LaunchOptions) {
			o.ImageID, o.InstanceType, o.Tags = imageID(g.Image), g.InstanceType, g.Tags
			o.Stopped = g.State == types.InstanceStateNameStopped
			o.DetailedMonitoring = g.Monitoring == "detailed"
			if m := g.MetadataOptions; m != nil {
				o.MetadataOptions = &types.InstanceMetadataOptionsRequest{
					HttpTokens: types.HttpTokensState(m.HttpTokens), HttpPutResponseHopLimit: m.HttpPutResponseHopLimit,
					HttpEndpoint: types.InstanceMetadataEndpointState(m.HttpEndpoint), HttpProtocolIpv6: types.InstanceMetadataProtocolState(m.HttpProtocolIpv6),
					InstanceMetadataTags: types.InstanceMetadataTagsState(m.InstanceMetadataTags),
				}
			}
		})
		if err != nil {
			return fail(where, err)
		}
		res.Instances = append(res.Instances, ids)
		if m := g.MetadataNoToken; m != nil {
			putHistory(ids, m)
		}
		if g.State == types.InstanceStateNameTerminated {
			for chunk := range slices.Chunk(ids, 1000) {
				if _, err := f.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: chunk}); err != nil {
					return fail(where, err)
				}
			}
		} else if l := g.LateIMDSv1Calls; l != nil {
			for _, id := range ids {
				if err := f.CallIMDSv1OnceRequired(id, l.PerMinute); err != nil {
					return fail(where+".LateIMDSv1Calls", err)
				}
			}
			res.LateIMDSv1Calls += len(ids)
		}
		switch g.State {
		case types.InstanceStateNameStopped:
			res.Stopped += len(ids)
		case types.InstanceStateNameTerminated:
			res.Terminated += len(ids)
		default:
			res.Running += len(ids)
		}
	}
	for i, lt := range s.LaunchTemplates {
		where := fmt.Sprintf("LaunchTemplates[%d]", i)
		var id string
		for n, v := range lt.Versions {
			data := &types.RequestLaunchTemplateData{ImageId: aws.String(imageID(lt.Image)), InstanceType: lt.InstanceType}
			if v.UserData != "" {
				data.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(v.UserData)))
			}
			if len(v.Tags) > 0 {
				spec := types.LaunchTemplateTagSpecificationRequest{ResourceType: types.ResourceTypeInstance}
				for _, k := range slices.Sorted(maps.Keys(v.Tags)) {
					spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v.Tags[k])})
				}
				data.TagSpecifications = []types.LaunchTemplateTagSpecificationRequest{spec}
			}
			if m := v.MetadataOptions; m != nil {
				data.MetadataOptions = &types.LaunchTemplateInstanceMetadataOptionsRequest{
					HttpTokens: types.LaunchTemplateHttpTokensState(m.HttpTokens), HttpPutResponseHopLimit: m.HttpPutResponseHopLimit,
					HttpEndpoint: types.LaunchTemplateInstanceMetadataEndpointState(m.HttpEndpoint), HttpProtocolIpv6: types.LaunchTemplateInstanceMetadataProtocolIpv6(m.HttpProtocolIpv6),
					InstanceMetadataTags: types.LaunchTemplateInstanceMetadataTagsState(m.InstanceMetadataTags),
				}
			}
			if n == 0 {
				out, err := f.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(lt.Name), LaunchTemplateData: data})
				if err != nil {
					return fail(where, err)
				}
				id = aws.ToString(out.LaunchTemplate.LaunchTemplateId)
				continue
			}
			if _, err := f.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(id), LaunchTemplateData: data}); err != nil {
				return fail(fmt.Sprintf("%s.Versions[%d]", where, n), err)
			}
		}
		if d := lt.DefaultVersion; d != nil && *d != 1 {
			if _, err := f.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String(strconv.Itoa(*d))}); err != nil {
				return fail(where+".DefaultVersion", err)
			}
		}
		res.LaunchTemplates[lt.Name] = id
	}
	for i, g := range s.AutoScalingGroups {
		where := fmt.Sprintf("AutoScalingGroups[%d]", i)
		ids, err := seedGroup(ctx, as, g, res.LaunchTemplates[g.LaunchTemplate])
		if err != nil {
			return fail(where, err)
		}
		if m := g.MetadataNoToken; m != nil {
			putHistory(ids, m)
		}
		res.AutoScalingGroups[g.Name] = ids
		res.Running += len(ids)
	}
	if d := s.AccountDefaults; d != nil {
		_, err := f.ModifyInstanceMetadataDefaults(ctx, &ec2.ModifyInstanceMetadataDefaultsInput{
			HttpTokens: types.MetadataDefaultHttpTokensState(d.HttpTokens), HttpPutResponseHopLimit: d.HttpPutResponseHopLimit,
			HttpEndpoint: types.DefaultInstanceMetadataEndpointState(d.HttpEndpoint), InstanceMetadataTags: types.DefaultInstanceMetadataTagsState(d.InstanceMetadataTags),
			HttpTokensEnforced: types.DefaultHttpTokensEnforcedState(d.HttpTokensEnforced),
		})
		if err != nil {
			return fail("AccountDefaults", err)
		}
	}
	if p := s.DeclarativePolicy; p != nil {
		if err := f.SetDeclarativePolicy(p); err != nil {
			return fail("DeclarativePolicy", err)
		}
	}
	return res, nil
}

// seedGroup creates the group g of a seed, launching from the template
// templateID, and returns the IDs of its instances. A group with service
// tags is made empty, tagged, then scaled, as the service that makes it
// does.
func seedGroup(ctx context.Context, as *AutoScaling, g SeedAutoScalingGroup, templateID string) ([]string, error) {
	version := g.Version
	if version == "" {
		version = "$Default"
	}
	in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(g.Name),
		MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(g.DesiredCapacity)), DesiredCapacity: aws.Int32(int32(g.DesiredCapacity)),
		AvailabilityZones: []string{"us-east-1a"},
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(templateID), Version: aws.String(version)}}
	for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
		in.Tags = append(in.Tags, astypes.Tag{Key: aws.String(k), Value: aws.String(g.Tags[k]), PropagateAtLaunch: aws.Bool(true)})
	}
	if len(g.ServiceTags) > 0 {
		in.DesiredCapacity = aws.Int32(0)
	}
	if _, err := as.CreateAutoScalingGroup(ctx, in); err != nil {
		return nil, err
	}
	if len(g.ServiceTags) > 0 {
		if err := as.TagAsService(g.Name, g.ServiceTags); err != nil {
			return nil, fmt.Errorf("ServiceTags: %w", err)
		}
		if _, err := as.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{AutoScalingGroupName: aws.String(g.Name),
			DesiredCapacity: aws.Int32(int32(g.DesiredCapacity))}); err != nil {
			return nil, err
		}
	}
	out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{g.Name}})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, grp := range out.AutoScalingGroups {
		for _, in := range grp.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	if len(ids) != g.DesiredCapacity {
		return nil, fmt.Errorf("launched %d of %d instances (see its scaling activities)", len(ids), g.DesiredCapacity)
	}
	return ids, nil
}

// The built-in accounts of BuiltinSeed, as seed documents.
//
//go:embed seeds/*.json
var builtinSeeds embed.FS

// BuiltinSeeds names the built-in accounts of [BuiltinSeed], in order.
func BuiltinSeeds() []string { return []string{"realistic", "containers"} }

// BuiltinSeed returns a new copy of a built-in account, for tests and for
// the emulator (imdsopts emulator --seed-account NAME), or an error for
// a name not in [BuiltinSeeds]. The accounts are seed documents in the
// module's source (fake/seeds/NAME.json), which use every key of the
// format:
//
// "realistic" is an account in the middle of its IMDSv2 migration, the
// default of the emulator: 200 instances of three teams' applications,
// most of them still allowing IMDSv1. 120 running ones made no IMDSv1
// call in 14 days (CloudWatch shows zeros), but on 2 of them a monthly
// job still uses IMDSv1: once they require tokens, its calls are refused
// (what a rollout watches for); 4 of them were launched by the Auto
// Scaling group payments-web from the launch template of that name; 50
// running ones, launched by hand, still make IMDSv1 calls every day; 28
// are stopped, one is terminated, and one was launched from an AMI that
// requires IMDSv2 and is already compliant. The account's default
// HttpTokens is "required", but the launch templates payments-web and
// batch-worker ask for "optional" themselves. So the account is not ready
// to enforce IMDSv2: the group's template and batch-worker would launch
// with IMDSv1. The group's instances are clean, so its template can
// require IMDSv2; once both templates do, the account is ready.
//
// "containers" is an EKS cluster's managed node groups (one on a template
// as EKS makes it, with nodeadm's NodeConfig and hop limit 2; one on a
// custom template with the EKS bootstrap script, hop limit 1, and pods
// whose SDKs fall back to IMDSv1), Karpenter nodes, an ECS capacity
// provider's group, an Elastic Beanstalk environment, a CloudFormation
// stack's instances, a bastion with its metadata endpoint disabled and two
// web servers already on IMDSv2: 18 instances, with the tags and user data
// those services put there, in an account whose default turns instance
// tags in the metadata on.
func BuiltinSeed(name string) (*Seed, error) {
	if !slices.Contains(BuiltinSeeds(), name) {
		return nil, fmt.Errorf("fake: no built-in seed %q: the seeds are %s", name, strings.Join(BuiltinSeeds(), ", "))
	}
	b, err := builtinSeeds.ReadFile("seeds/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("fake: built-in seed %q: %w", name, err)
	}
	s, err := ReadSeed(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("fake: built-in seed %q: %w", name, err)
	}
	return s, nil
}
