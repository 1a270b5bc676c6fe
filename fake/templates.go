package fake

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Launch template operations. For request throttling,
// CreateLaunchTemplateVersion and ModifyLaunchTemplate have buckets of
// their own size (EC2: 100 tokens, 5 a second), CreateLaunchTemplate and the
// Delete* operations are other mutating calls (50 tokens, 5 a second) and
// the Describe* operations non-mutating ones (100 tokens, 20 a second); each
// API has its own bucket (see apiThrottling).
const (
	opCreateLaunchTemplate           = "CreateLaunchTemplate"
	opCreateLaunchTemplateVersion    = "CreateLaunchTemplateVersion"
	opDescribeLaunchTemplates        = "DescribeLaunchTemplates"
	opDescribeLaunchTemplateVersions = "DescribeLaunchTemplateVersions"
	opModifyLaunchTemplate           = "ModifyLaunchTemplate"
	opDeleteLaunchTemplate           = "DeleteLaunchTemplate"
	opDeleteLaunchTemplateVersions   = "DeleteLaunchTemplateVersions"
)

// Launch template error codes, as EC2's list of error codes spells them.
const (
	codeTemplateIDMalformed     = "InvalidLaunchTemplateId.Malformed"
	codeTemplateIDNotFound      = "InvalidLaunchTemplateId.NotFound"
	codeTemplateVersionNotFound = "InvalidLaunchTemplateId.VersionNotFound"
	codeTemplateNameMalformed   = "InvalidLaunchTemplateName.MalformedException"
	codeTemplateNameNotFound    = "InvalidLaunchTemplateName.NotFoundException"
	codeTemplateNameExists      = "InvalidLaunchTemplateName.AlreadyExistsException"
)

// Version selectors: a launch template's latest and default versions.
const (
	versionLatest  = "$Latest"
	versionDefault = "$Default"
)

// Limits EC2 documents for launch templates.
const (
	maxVersionDescription = 255
	maxTemplatePage       = 200 // MaxResults of the Describe operations: 1..200
	maxDeleteVersions     = 200
)

// Tags EC2 puts on instances launched from a launch template.
const (
	tagTemplateID      = "aws:ec2launchtemplate:id"
	tagTemplateVersion = "aws:ec2launchtemplate:version"
)

// templateName is the syntax of launch template names.
var templateName = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// createdBy returns the principal the fake names as the creator of the
// templates of account.
func createdBy(account string) string { return "arn:aws:iam::" + account + ":root" }

// templateStore holds the launch templates of an EC2 fake. Its zero value is
// empty and ready to use.
type templateStore struct {
	byID   map[string]*launchTemplate
	byName map[string]*launchTemplate
	order  []*launchTemplate // creation order
	seq    uint64            // last template number handed out
}

func (s *templateStore) add(t *launchTemplate) {
	if s.byID == nil {
		s.byID = make(map[string]*launchTemplate)
		s.byName = make(map[string]*launchTemplate)
	}
	s.byID[t.id], s.byName[t.name] = t, t
	s.order = append(s.order, t)
}

func (s *templateStore) remove(t *launchTemplate) {
	delete(s.byID, t.id)
	delete(s.byName, t.name)
	s.order = slices.DeleteFunc(s.order, func(o *launchTemplate) bool { return o == t })
}

// launchTemplate is a launch template and its versions. Versions are
// immutable; a template always keeps at least its default version, because
// that one cannot be deleted.
type launchTemplate struct {
	seq            uint64 // creation order
	id, name       string
	createdBy      string // the principal that created it
	created        time.Time
	tags           []types.Tag
	defaultVersion int64
	lastNumber     int64              // numbers are never reused, even after a deletion
	versions       []*templateVersion // ascending by number
}

// templateVersion is one immutable version of a launch template.
type templateVersion struct {
	number      int64
	description *string
	created     time.Time
	data        types.RequestLaunchTemplateData // the fake's own deep copy
}

func (t *launchTemplate) latest() *templateVersion { return t.versions[len(t.versions)-1] }

func (t *launchTemplate) find(n int64) *templateVersion {
	i, ok := slices.BinarySearchFunc(t.versions, n, func(v *templateVersion, n int64) int {
		return cmp.Compare(v.number, n)
	})
	if !ok {
		return nil
	}
	return t.versions[i]
}

func (t *launchTemplate) describe() types.LaunchTemplate {
	return types.LaunchTemplate{
		CreateTime:           aws.Time(t.created),
		CreatedBy:            aws.String(t.createdBy),
		DefaultVersionNumber: aws.Int64(t.defaultVersion),
		LatestVersionNumber:  aws.Int64(t.latest().number),
		LaunchTemplateId:     aws.String(t.id),
		LaunchTemplateName:   aws.String(t.name),
		Tags:                 cloneTags(t.tags),
	}
}

// describeVersion answers version v of t. The data comes back as it was
// given: EC2 does not fill in defaults, and MetadataOptions carry no State
// (whether EC2 reports one for templates is unverified; leaving it out keeps
// callers from depending on it).
func (t *launchTemplate) describeVersion(op string, v *templateVersion) (types.LaunchTemplateVersion, error) {
	var data types.ResponseLaunchTemplateData
	if err := convertData(&v.data, &data); err != nil {
		return types.LaunchTemplateVersion{}, apiError(op, 500, "InternalError", "An internal error has occurred.")
	}
	return types.LaunchTemplateVersion{
		CreateTime:         aws.Time(v.created),
		CreatedBy:          aws.String(t.createdBy),
		DefaultVersion:     aws.Bool(v.number == t.defaultVersion),
		LaunchTemplateData: &data,
		LaunchTemplateId:   aws.String(t.id),
		LaunchTemplateName: aws.String(t.name),
		VersionDescription: v.description,
		VersionNumber:      aws.Int64(v.number),
	}, nil
}

// convertData copies src into dst field by field, by name. The SDK's
// request and response types for launch template data have the same field
// names at every depth, so this copies every parameter faithfully, and it
// makes a deep copy when both have the same type.
func convertData(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// isTemplateID reports whether id is "lt-" and 17 lowercase hex digits.
func isTemplateID(id string) bool {
	return len(id) == len("lt-")+17 && isHexID(id, "lt")
}

// parseVersionNumber parses a launch template version number: decimal
// digits only, 1 or more.
func parseVersionNumber(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// findTemplate returns the launch template named by id or name, exactly one
// of which must be given.
func (f *EC2) findTemplate(op string, id, name *string) (*launchTemplate, error) {
	i, n := aws.ToString(id), aws.ToString(name)
	switch {
	case id != nil && name != nil:
		return nil, badRequest(op, codeInvalidCombination,
			"Specify either the launch template ID or the launch template name, but not both.")
	case id != nil:
		if !isTemplateID(i) {
			return nil, badRequest(op, codeTemplateIDMalformed,
				"The launch template ID '%s' is malformed: a launch template ID is lt- followed by 17 hexadecimal digits.", i)
		}
		if t := f.lt.byID[i]; t != nil {
			return t, nil
		}
		return nil, badRequest(op, codeTemplateIDNotFound, "The specified launch template, with template ID %s, does not exist.", i)
	case name != nil:
		if !templateName.MatchString(n) {
			return nil, templateNameMalformed(op, n)
		}
		if t := f.lt.byName[n]; t != nil {
			return t, nil
		}
		return nil, badRequest(op, codeTemplateNameNotFound, "The specified launch template, with template name %s, does not exist.", n)
	}
	return nil, missingParameter(op, "LaunchTemplateId or LaunchTemplateName")
}

func templateNameMalformed(op, name string) error {
	return badRequest(op, codeTemplateNameMalformed,
		"The launch template name '%s' is invalid: it must be 3 to 128 characters of letters, digits and ( ) . - / _", name)
}

// resolve returns the version of t that selector names: "$Latest",
// "$Default" or a version number.
func (t *launchTemplate) resolve(op, selector string) (*templateVersion, error) {
	switch selector {
	case versionLatest:
		return t.latest(), nil
	case versionDefault:
		return t.find(t.defaultVersion), nil
	}
	n, ok := parseVersionNumber(selector)
	if !ok {
		// What EC2 answers a malformed version is unverified; the fake
		// refuses it as a bad value rather than report a missing version.
		return nil, badRequest(op, codeInvalidParameterValue,
			"Value (%s) for parameter version is invalid: expected a version number, $Latest or $Default.", selector)
	}
	if v := t.find(n); v != nil {
		return v, nil
	}
	return nil, versionNotFound(op, t, selector)
}

// resolveNumber is resolve for parameters that accept only version numbers.
func (t *launchTemplate) resolveNumber(op, param, s string) (*templateVersion, error) {
	n, ok := parseVersionNumber(s)
	if !ok {
		return nil, badRequest(op, codeInvalidParameterValue,
			"Value (%s) for parameter %s is invalid: expected a version number.", s, param)
	}
	if v := t.find(n); v != nil {
		return v, nil
	}
	return nil, versionNotFound(op, t, s)
}

func versionNotFound(op string, t *launchTemplate, version string) error {
	return badRequest(op, codeTemplateVersionNotFound,
		"The specified launch template version %s does not exist for launch template %s.", version, t.id)
}

// templateData validates the launch template data of a request as EC2 does
// and returns the fake's own deep copy of it.
func templateData(op string, d *types.RequestLaunchTemplateData) (types.RequestLaunchTemplateData, error) {
	var out types.RequestLaunchTemplateData
	if d == nil {
		return out, missingParameter(op, "LaunchTemplateData")
	}
	if err := templateMetadata(d.MetadataOptions).validate(op); err != nil {
		return out, err
	}
	// An SSM parameter alias is stored as given; launching from it is not
	// modelled and fails as a malformed AMI ID.
	if id := aws.ToString(d.ImageId); id != "" && !strings.HasPrefix(id, "resolve:ssm:") && !isHexID(id, "ami") {
		return out, badRequest(op, codeAMIMalformed, "Invalid id: %q", id)
	}
	for _, s := range d.TagSpecifications {
		if err := checkTagKeys(op, s.Tags); err != nil {
			return out, err
		}
	}
	if err := convertData(d, &out); err != nil {
		return out, badRequest(op, codeInvalidParameterValue, "The launch template data is invalid: %v", err)
	}
	return out, nil
}

// templateMetadata returns the metadata options of launch template data as
// a request for the fake's metadata rules.
func templateMetadata(m *types.LaunchTemplateInstanceMetadataOptionsRequest) metadataRequest {
	if m == nil {
		return metadataRequest{}
	}
	return metadataRequest{
		tokens:   types.HttpTokensState(m.HttpTokens),
		hop:      m.HttpPutResponseHopLimit,
		endpoint: types.InstanceMetadataEndpointState(m.HttpEndpoint),
		ipv6:     types.InstanceMetadataProtocolState(m.HttpProtocolIpv6),
		tags:     types.InstanceMetadataTagsState(m.InstanceMetadataTags),
	}
}

// checkTagKeys refuses empty tag keys and the prefix "aws:", which EC2
// reserves for the tags it sets itself.
func checkTagKeys(op string, tags []types.Tag) error {
	for _, t := range tags {
		k := aws.ToString(t.Key)
		if k == "" {
			return badRequest(op, codeInvalidParameterValue, "Tag keys must not be empty")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return badRequest(op, codeInvalidParameterValue,
				"Value (%s) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", k)
		}
	}
	return nil
}

// overlayData sets every parameter that given specifies in base. A
// parameter is specified when it is set: a non-nil pointer, a non-empty
// string or list. A nested structure such as MetadataOptions replaces the
// base's whole: whether EC2 merges nested structures field by field is
// unverified, and replacing is the conservative reading (a caller that
// omits fields of a structure it gives loses them, so it must give them
// all).
func overlayData(base *types.RequestLaunchTemplateData, given *types.RequestLaunchTemplateData) {
	b, g := reflect.ValueOf(base).Elem(), reflect.ValueOf(given).Elem()
	for i := range g.NumField() {
		field, v := g.Type().Field(i), g.Field(i)
		if !field.IsExported() || v.IsZero() || v.Kind() == reflect.Slice && v.Len() == 0 {
			continue
		}
		b.Field(i).Set(v)
	}
}

// dataWarning answers launch template data that names an AMI that does not
// exist: EC2 creates the version and warns (the code of the warning is
// unverified).
func (f *EC2) dataWarning(d *types.RequestLaunchTemplateData) *types.ValidationWarning {
	id := aws.ToString(d.ImageId)
	if id == "" || !isHexID(id, "ami") || f.images[id] != nil {
		return nil
	}
	return &types.ValidationWarning{Errors: []types.ValidationError{{
		Code:    aws.String(codeAMINotFound),
		Message: aws.String(fmt.Sprintf("The image id '[%s]' does not exist", id)),
	}}}
}

func checkVersionDescription(op string, d *string) error {
	if len(aws.ToString(d)) > maxVersionDescription {
		return badRequest(op, codeInvalidParameterValue,
			"Value for parameter VersionDescription is invalid: it must be at most %d characters.", maxVersionDescription)
	}
	return nil
}

func checkTemplatePage(op string, maxResults *int32) (int, error) {
	if maxResults == nil {
		return 0, nil
	}
	if m := *maxResults; m < 1 || m > maxTemplatePage {
		return 0, badRequest(op, codeInvalidParameterValue,
			"Value (%d) for parameter maxResults is invalid. Expecting a value between 1 and %d.", m, maxTemplatePage)
	}
	return int(*maxResults), nil
}

// templatePageStart decodes the NextToken of a listing of kind.
func templatePageStart(op, kind string, token *string) (*pageKey, error) {
	t := aws.ToString(token)
	if t == "" {
		return nil, nil
	}
	k, ok := decodePageToken(kind, t)
	if !ok {
		return nil, badRequest(op, codeInvalidParameterValue, "The parameter NextToken is invalid: %q", t)
	}
	return &k, nil
}

func pageToken(kind string, k *pageKey) *string {
	if k == nil {
		return nil
	}
	return aws.String(encodePageToken(kind, *k))
}

// CreateLaunchTemplate creates a launch template with version 1, which is
// its default and latest version. LaunchTemplateName must be 3 to 128
// letters, digits and ( ) . - / _, and unused
// (InvalidLaunchTemplateName.AlreadyExistsException). LaunchTemplateData is
// stored as given and answered back unchanged; the fake checks its
// MetadataOptions (enumerations exactly as spelled, hop limit 1..64), the
// syntax of ImageId and the keys of its TagSpecifications. An ImageId that
// does not exist is accepted with a Warning, as EC2 does. TagSpecifications
// of resource type launch-template tag the template. ClientToken is
// ignored.
func (f *EC2) CreateLaunchTemplate(ctx context.Context, params *ec2.CreateLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	const op = opCreateLaunchTemplate
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	name := aws.ToString(params.LaunchTemplateName)
	if name == "" {
		return nil, missingParameter(op, "LaunchTemplateName")
	}
	if !templateName.MatchString(name) {
		return nil, templateNameMalformed(op, name)
	}
	if err := checkVersionDescription(op, params.VersionDescription); err != nil {
		return nil, err
	}
	data, err := templateData(op, params.LaunchTemplateData)
	if err != nil {
		return nil, err
	}
	var tags []types.Tag
	for _, s := range params.TagSpecifications {
		// Other resource types are refused: whether EC2 ignores them is
		// unverified.
		if s.ResourceType != types.ResourceTypeLaunchTemplate {
			return nil, badRequest(op, codeInvalidParameterValue,
				"Value (%s) for parameter ResourceType is invalid: a launch template can only be tagged as %s.", s.ResourceType, types.ResourceTypeLaunchTemplate)
		}
		if err := checkTagKeys(op, s.Tags); err != nil {
			return nil, err
		}
		tags = append(tags, s.Tags...)
	}
	if f.lt.byName[name] != nil {
		return nil, badRequest(op, codeTemplateNameExists, "Launch template name already in use.")
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	now := time.Now()
	t := &launchTemplate{
		seq:            f.lt.seq + 1,
		id:             newID("lt", &f.lt.seq),
		name:           name,
		createdBy:      createdBy(f.account),
		created:        now,
		tags:           cloneTags(tags),
		defaultVersion: 1,
		lastNumber:     1,
		versions: []*templateVersion{{
			number:      1,
			description: copyString(params.VersionDescription),
			created:     now,
			data:        data,
		}},
	}
	f.lt.add(t)
	lt := t.describe()
	return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: &lt, Warning: f.dataWarning(&data)}, nil
}

// CreateLaunchTemplateVersion adds a version to a launch template, numbered
// one above the highest number the template ever had. Without SourceVersion
// the version holds only the LaunchTemplateData given. With SourceVersion (a
// version number, $Latest or $Default: the selectors are accepted as they
// are where EC2 documents a version, and their use here is widely reported),
// it copies the source version's data and replaces each parameter that
// LaunchTemplateData gives; a structure such as MetadataOptions is replaced
// whole, not merged (see the package documentation). The new version is not
// the default: make it so with ModifyLaunchTemplate.
func (f *EC2) CreateLaunchTemplateVersion(ctx context.Context, params *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	const op = opCreateLaunchTemplateVersion
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	t, err := f.findTemplate(op, params.LaunchTemplateId, params.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	if err := checkVersionDescription(op, params.VersionDescription); err != nil {
		return nil, err
	}
	data, err := templateData(op, params.LaunchTemplateData)
	if err != nil {
		return nil, err
	}
	if src := aws.ToString(params.SourceVersion); src != "" {
		v, err := t.resolve(op, src)
		if err != nil {
			return nil, err
		}
		var merged types.RequestLaunchTemplateData
		if err := convertData(&v.data, &merged); err != nil {
			return nil, apiError(op, 500, "InternalError", "An internal error has occurred.")
		}
		overlayData(&merged, &data)
		// Each part is valid on its own; this catches combinations across
		// them, such as IPv6 enabled on an endpoint another part disabled.
		if data, err = templateData(op, &merged); err != nil {
			return nil, err
		}
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	t.lastNumber++
	v := &templateVersion{
		number:      t.lastNumber,
		description: copyString(params.VersionDescription),
		created:     time.Now(),
		data:        data,
	}
	t.versions = append(t.versions, v)
	out, err := t.describeVersion(op, v)
	if err != nil {
		return nil, err
	}
	return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: &out, Warning: f.dataWarning(&data)}, nil
}

// DescribeLaunchTemplates describes launch templates in creation order: those
// named in LaunchTemplateIds or LaunchTemplateNames (each must exist), or
// all. Supported filters: launch-template-name, tag:KEY and tag-key.
// MaxResults (1..200) pages the result with NextToken; without it
// everything comes in one page.
func (f *EC2) DescribeLaunchTemplates(ctx context.Context, params *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	const op = opDescribeLaunchTemplates
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	limit, err := checkTemplatePage(op, params.MaxResults)
	if err != nil {
		return nil, err
	}
	from, err := templatePageStart(op, "lt", params.NextToken)
	if err != nil {
		return nil, err
	}
	var named []*launchTemplate
	for _, id := range params.LaunchTemplateIds {
		t, err := f.findTemplate(op, aws.String(id), nil)
		if err != nil {
			return nil, err
		}
		named = append(named, t)
	}
	for _, name := range params.LaunchTemplateNames {
		t, err := f.findTemplate(op, nil, aws.String(name))
		if err != nil {
			return nil, err
		}
		named = append(named, t)
	}
	filters, err := compileFilters(op, params.Filters, templateFilter)
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	var match []*launchTemplate
	for _, t := range f.lt.order {
		if (len(named) == 0 || slices.Contains(named, t)) && filters.match(t) {
			match = append(match, t)
		}
	}
	page, next := paginate(match, func(t *launchTemplate) pageKey { return pageKey{int64(t.seq)} }, from, limit)
	out := &ec2.DescribeLaunchTemplatesOutput{LaunchTemplates: []types.LaunchTemplate{}, NextToken: pageToken("lt", next)}
	for _, t := range page {
		out.LaunchTemplates = append(out.LaunchTemplates, t.describe())
	}
	return out, nil
}

// templateFilter returns the function that gives a template's values for
// the DescribeLaunchTemplates filter name, or nil for an unknown filter.
func templateFilter(name string) func(*launchTemplate) []string {
	if name == "launch-template-name" {
		return func(t *launchTemplate) []string { return []string{t.name} }
	}
	return tagFilter(name, func(t *launchTemplate) []types.Tag { return t.tags })
}

// templateVersionRow is one version in a DescribeLaunchTemplateVersions
// listing.
type templateVersionRow struct {
	t *launchTemplate
	v *templateVersion
}

// DescribeLaunchTemplateVersions describes versions of launch templates,
// newest first within a template, as EC2's documented example shows.
//
// With LaunchTemplateId or LaunchTemplateName (not both), it describes the
// versions Versions names (numbers, $Latest, $Default; any that does not
// exist fails the call with InvalidLaunchTemplateId.VersionNotFound), or
// those from MinVersion to MaxVersion (both inclusive, either optional;
// whether EC2 includes MinVersion is unverified), or all. Versions cannot be
// combined with MinVersion or MaxVersion here (unverified: the fake refuses
// what it cannot be sure EC2 accepts).
//
// Without a template, Versions must hold only $Latest and/or $Default: the
// call then describes that version of every template, in the order the
// templates were created (a version that is both is described once).
//
// Supported filters: http-tokens, http-endpoint, http-protocol-ipv6,
// instance-metadata-tags, image-id, instance-type, is-default-version,
// ebs-optimized, kernel-id and ram-disk-id. MaxResults (1..200) pages the
// result with NextToken.
func (f *EC2) DescribeLaunchTemplateVersions(ctx context.Context, params *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	const op = opDescribeLaunchTemplateVersions
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	limit, err := checkTemplatePage(op, params.MaxResults)
	if err != nil {
		return nil, err
	}
	from, err := templatePageStart(op, "ltv", params.NextToken)
	if err != nil {
		return nil, err
	}
	var rows []templateVersionRow
	if params.LaunchTemplateId != nil || params.LaunchTemplateName != nil {
		rows, err = f.versionsOfTemplate(op, params)
	} else {
		rows, err = f.versionsOfAll(op, params)
	}
	if err != nil {
		return nil, err
	}
	filters, err := compileFilters(op, params.Filters, versionFilter)
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	rows = slices.DeleteFunc(rows, func(r templateVersionRow) bool { return !filters.match(r) })
	key := func(r templateVersionRow) pageKey { return pageKey{int64(r.t.seq), -r.v.number} }
	slices.SortFunc(rows, func(a, b templateVersionRow) int {
		switch ka, kb := key(a), key(b); {
		case ka.less(kb):
			return -1
		case kb.less(ka):
			return 1
		}
		return 0
	})
	rows = slices.CompactFunc(rows, func(a, b templateVersionRow) bool { return a == b })
	page, next := paginate(rows, key, from, limit)
	out := &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []types.LaunchTemplateVersion{}, NextToken: pageToken("ltv", next)}
	for _, r := range page {
		v, err := r.t.describeVersion(op, r.v)
		if err != nil {
			return nil, err
		}
		out.LaunchTemplateVersions = append(out.LaunchTemplateVersions, v)
	}
	return out, nil
}

// versionsOfTemplate selects the versions of the one template a
// DescribeLaunchTemplateVersions request names.
func (f *EC2) versionsOfTemplate(op string, p *ec2.DescribeLaunchTemplateVersionsInput) ([]templateVersionRow, error) {
	t, err := f.findTemplate(op, p.LaunchTemplateId, p.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	minV, maxV := aws.ToString(p.MinVersion), aws.ToString(p.MaxVersion)
	if len(p.Versions) > 0 && (minV != "" || maxV != "") {
		return nil, badRequest(op, codeInvalidCombination,
			"The parameters Versions and MinVersion or MaxVersion cannot be used together.")
	}
	var rows []templateVersionRow
	if len(p.Versions) > 0 {
		for _, s := range p.Versions {
			v, err := t.resolve(op, s)
			if err != nil {
				return nil, err
			}
			rows = append(rows, templateVersionRow{t, v})
		}
		return rows, nil
	}
	lo, hi := int64(1), t.lastNumber
	for _, b := range []struct {
		name, s string
		dst     *int64
	}{{"MinVersion", minV, &lo}, {"MaxVersion", maxV, &hi}} {
		if b.s == "" {
			continue
		}
		n, ok := parseVersionNumber(b.s)
		if !ok {
			return nil, badRequest(op, codeInvalidParameterValue,
				"Value (%s) for parameter %s is invalid: expected a version number.", b.s, b.name)
		}
		*b.dst = n
	}
	for _, v := range t.versions {
		if v.number >= lo && v.number <= hi {
			rows = append(rows, templateVersionRow{t, v})
		}
	}
	return rows, nil
}

// versionsOfAll selects the $Latest and/or $Default versions of every
// template, for a DescribeLaunchTemplateVersions request that names none.
func (f *EC2) versionsOfAll(op string, p *ec2.DescribeLaunchTemplateVersionsInput) ([]templateVersionRow, error) {
	if p.MinVersion != nil || p.MaxVersion != nil {
		return nil, badRequest(op, codeInvalidCombination,
			"MinVersion and MaxVersion can only be used with a launch template ID or name.")
	}
	if len(p.Versions) == 0 {
		return nil, missingParameter(op, "LaunchTemplateId or LaunchTemplateName")
	}
	for _, s := range p.Versions {
		if s != versionLatest && s != versionDefault {
			return nil, badRequest(op, codeInvalidParameterValue,
				"Value (%s) for parameter Versions is invalid: without a launch template ID or name, only $Latest and $Default are allowed.", s)
		}
	}
	var rows []templateVersionRow
	for _, t := range f.lt.order {
		for _, s := range p.Versions {
			v, err := t.resolve(op, s)
			if err != nil {
				return nil, err
			}
			rows = append(rows, templateVersionRow{t, v})
		}
	}
	return rows, nil
}

// versionFilter returns the function that gives a template version's values
// for the DescribeLaunchTemplateVersions filter name, or nil for an unknown
// filter. A parameter the version does not set has no value, so no filter
// on it matches.
func versionFilter(name string) func(templateVersionRow) []string {
	str := func(get func(*types.RequestLaunchTemplateData) string) func(templateVersionRow) []string {
		return func(r templateVersionRow) []string {
			if s := get(&r.v.data); s != "" {
				return []string{s}
			}
			return nil
		}
	}
	md := func(get func(*types.LaunchTemplateInstanceMetadataOptionsRequest) string) func(templateVersionRow) []string {
		return str(func(d *types.RequestLaunchTemplateData) string {
			if d.MetadataOptions == nil {
				return ""
			}
			return get(d.MetadataOptions)
		})
	}
	switch name {
	case "http-tokens":
		return md(func(m *types.LaunchTemplateInstanceMetadataOptionsRequest) string { return string(m.HttpTokens) })
	case "http-endpoint":
		return md(func(m *types.LaunchTemplateInstanceMetadataOptionsRequest) string { return string(m.HttpEndpoint) })
	case "http-protocol-ipv6":
		return md(func(m *types.LaunchTemplateInstanceMetadataOptionsRequest) string { return string(m.HttpProtocolIpv6) })
	case "instance-metadata-tags":
		return md(func(m *types.LaunchTemplateInstanceMetadataOptionsRequest) string {
			return string(m.InstanceMetadataTags)
		})
	case "image-id":
		return str(func(d *types.RequestLaunchTemplateData) string { return aws.ToString(d.ImageId) })
	case "instance-type":
		return str(func(d *types.RequestLaunchTemplateData) string { return string(d.InstanceType) })
	case "kernel-id":
		return str(func(d *types.RequestLaunchTemplateData) string { return aws.ToString(d.KernelId) })
	case "ram-disk-id":
		return str(func(d *types.RequestLaunchTemplateData) string { return aws.ToString(d.RamDiskId) })
	case "ebs-optimized":
		return str(func(d *types.RequestLaunchTemplateData) string {
			if d.EbsOptimized == nil {
				return ""
			}
			return strconv.FormatBool(*d.EbsOptimized)
		})
	case "is-default-version":
		return func(r templateVersionRow) []string {
			return []string{strconv.FormatBool(r.v.number == r.t.defaultVersion)}
		}
	}
	return nil
}

// ModifyLaunchTemplate makes DefaultVersion (a version number that exists)
// the default version of a launch template. Without DefaultVersion it
// changes nothing and describes the template.
func (f *EC2) ModifyLaunchTemplate(ctx context.Context, params *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error) {
	const op = opModifyLaunchTemplate
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	t, err := f.findTemplate(op, params.LaunchTemplateId, params.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	var v *templateVersion
	if params.DefaultVersion != nil {
		if v, err = t.resolveNumber(op, "DefaultVersion", *params.DefaultVersion); err != nil {
			return nil, err
		}
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	if v != nil {
		t.defaultVersion = v.number
	}
	lt := t.describe()
	return &ec2.ModifyLaunchTemplateOutput{LaunchTemplate: &lt}, nil
}

// DeleteLaunchTemplate deletes a launch template and all its versions.
// Instances launched from it are not affected; later launches that name it
// fail with InvalidLaunchTemplateId.NotFound (or the name's NotFound).
func (f *EC2) DeleteLaunchTemplate(ctx context.Context, params *ec2.DeleteLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error) {
	const op = opDeleteLaunchTemplate
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	t, err := f.findTemplate(op, params.LaunchTemplateId, params.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	lt := t.describe()
	f.lt.remove(t)
	return &ec2.DeleteLaunchTemplateOutput{LaunchTemplate: &lt}, nil
}

// DeleteLaunchTemplateVersions deletes up to 200 versions, given by number,
// of a launch template. Each version is reported as deleted or not: a
// version that does not exist fails with launchTemplateVersionDoesNotExist,
// and the default version cannot be deleted (unexpectedError; the code EC2
// gives it is unverified). Deleting the latest version makes the highest
// remaining number the latest; numbers are never handed out again.
func (f *EC2) DeleteLaunchTemplateVersions(ctx context.Context, params *ec2.DeleteLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
	const op = opDeleteLaunchTemplateVersions
	f.mu.Lock()
	defer f.mu.Unlock()
	params, err := begun(params, f.begin(ctx, op, anyRequest))
	if err != nil {
		return nil, err
	}
	t, err := f.findTemplate(op, params.LaunchTemplateId, params.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	if len(params.Versions) == 0 {
		return nil, missingParameter(op, "LaunchTemplateVersion")
	}
	if len(params.Versions) > maxDeleteVersions {
		return nil, badRequest(op, codeInvalidParameterValue,
			"At most %d launch template versions can be deleted in one request, not %d.", maxDeleteVersions, len(params.Versions))
	}
	var numbers []int64
	for _, s := range params.Versions {
		n, ok := parseVersionNumber(s)
		if !ok {
			return nil, badRequest(op, codeInvalidParameterValue,
				"Value (%s) for parameter LaunchTemplateVersion is invalid: expected a version number.", s)
		}
		if !slices.Contains(numbers, n) {
			numbers = append(numbers, n)
		}
	}
	if dryRun(params.DryRun) {
		return nil, dryRunError(op)
	}
	out := &ec2.DeleteLaunchTemplateVersionsOutput{
		SuccessfullyDeletedLaunchTemplateVersions:   []types.DeleteLaunchTemplateVersionsResponseSuccessItem{},
		UnsuccessfullyDeletedLaunchTemplateVersions: []types.DeleteLaunchTemplateVersionsResponseErrorItem{},
	}
	fail := func(n int64, code types.LaunchTemplateErrorCode, msg string) {
		out.UnsuccessfullyDeletedLaunchTemplateVersions = append(out.UnsuccessfullyDeletedLaunchTemplateVersions,
			types.DeleteLaunchTemplateVersionsResponseErrorItem{
				LaunchTemplateId:   aws.String(t.id),
				LaunchTemplateName: aws.String(t.name),
				VersionNumber:      aws.Int64(n),
				ResponseError:      &types.ResponseError{Code: code, Message: aws.String(msg)},
			})
	}
	for _, n := range numbers {
		switch {
		case n == t.defaultVersion:
			fail(n, types.LaunchTemplateErrorCodeUnexpectedError,
				"The default version of a launch template cannot be deleted: make another version the default first.")
		case t.find(n) == nil:
			fail(n, types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist,
				fmt.Sprintf("The launch template version %d does not exist.", n))
		default:
			t.versions = slices.DeleteFunc(t.versions, func(v *templateVersion) bool { return v.number == n })
			out.SuccessfullyDeletedLaunchTemplateVersions = append(out.SuccessfullyDeletedLaunchTemplateVersions,
				types.DeleteLaunchTemplateVersionsResponseSuccessItem{
					LaunchTemplateId:   aws.String(t.id),
					LaunchTemplateName: aws.String(t.name),
					VersionNumber:      aws.Int64(n),
				})
		}
	}
	return out, nil
}

// applyLaunchTemplate returns the RunInstances request that params makes
// together with the launch template it names, or params itself when it
// names none. The template version (Version, $Default when omitted)
// supplies ImageId and InstanceType when the request gives none, and its
// MetadataOptions, which the request's own MetadataOptions override field
// by field, so that precedence then goes on as for any launch: the account
// defaults, the AMI, EC2's built-in defaults, and enforcement last. The
// instances get the version's instance tags, the request's (which win for
// a key both give) and the tags aws:ec2launchtemplate:id and
// aws:ec2launchtemplate:version that EC2 adds. Whether EC2 merges the tags
// of the template and the request by key is unverified.
func (f *EC2) applyLaunchTemplate(op string, params *ec2.RunInstancesInput) (*ec2.RunInstancesInput, error) {
	spec := params.LaunchTemplate
	if spec == nil {
		return params, nil
	}
	t, err := f.findTemplate(op, spec.LaunchTemplateId, spec.LaunchTemplateName)
	if err != nil {
		return nil, err
	}
	selector := aws.ToString(spec.Version)
	if selector == "" {
		selector = versionDefault
	}
	v, err := t.resolve(op, selector)
	if err != nil {
		return nil, err
	}
	own, err := tagsFor(op, params.TagSpecifications, types.ResourceTypeInstance)
	if err != nil {
		return nil, err
	}
	d := &v.data
	p := *params
	if aws.ToString(p.ImageId) == "" {
		p.ImageId = copyString(d.ImageId)
	}
	if p.InstanceType == "" {
		p.InstanceType = d.InstanceType
	}
	if p.Monitoring == nil && d.Monitoring != nil {
		p.Monitoring = &types.RunInstancesMonitoringEnabled{Enabled: copyBool(d.Monitoring.Enabled)}
	}
	p.MetadataOptions = launchMetadata(d.MetadataOptions, params.MetadataOptions)

	var tags []types.Tag
	for _, s := range d.TagSpecifications {
		if s.ResourceType == types.ResourceTypeInstance {
			tags = setTags(tags, s.Tags...)
		}
	}
	tags = setTags(tags, own...)
	tags = setTags(tags,
		types.Tag{Key: aws.String(tagTemplateID), Value: aws.String(t.id)},
		types.Tag{Key: aws.String(tagTemplateVersion), Value: aws.String(strconv.FormatInt(v.number, 10))})
	p.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tags}}
	for _, s := range params.TagSpecifications {
		if s.ResourceType != types.ResourceTypeInstance {
			p.TagSpecifications = append(p.TagSpecifications, s)
		}
	}
	return &p, nil
}

// launchMetadata merges the metadata options of a launch template with a
// launch request's, whose fields win one by one.
func launchMetadata(tmpl *types.LaunchTemplateInstanceMetadataOptionsRequest, req *types.InstanceMetadataOptionsRequest) *types.InstanceMetadataOptionsRequest {
	if tmpl == nil {
		return req
	}
	out := &types.InstanceMetadataOptionsRequest{
		HttpTokens:              types.HttpTokensState(tmpl.HttpTokens),
		HttpPutResponseHopLimit: copyInt32(tmpl.HttpPutResponseHopLimit),
		HttpEndpoint:            types.InstanceMetadataEndpointState(tmpl.HttpEndpoint),
		HttpProtocolIpv6:        types.InstanceMetadataProtocolState(tmpl.HttpProtocolIpv6),
		InstanceMetadataTags:    types.InstanceMetadataTagsState(tmpl.InstanceMetadataTags),
	}
	if req == nil {
		return out
	}
	if req.HttpTokens != "" {
		out.HttpTokens = req.HttpTokens
	}
	if req.HttpPutResponseHopLimit != nil {
		out.HttpPutResponseHopLimit = copyInt32(req.HttpPutResponseHopLimit)
	}
	if req.HttpEndpoint != "" {
		out.HttpEndpoint = req.HttpEndpoint
	}
	if req.HttpProtocolIpv6 != "" {
		out.HttpProtocolIpv6 = req.HttpProtocolIpv6
	}
	if req.InstanceMetadataTags != "" {
		out.InstanceMetadataTags = req.InstanceMetadataTags
	}
	return out
}

// setTags returns tags with each of set added, replacing a tag of the same
// key.
func setTags(tags []types.Tag, set ...types.Tag) []types.Tag {
	for _, s := range set {
		s = types.Tag{Key: copyString(s.Key), Value: copyString(s.Value)}
		if i := slices.IndexFunc(tags, func(t types.Tag) bool { return aws.ToString(t.Key) == aws.ToString(s.Key) }); i >= 0 {
			tags[i] = s
		} else {
			tags = append(tags, s)
		}
	}
	return tags
}

func copyString(s *string) *string {
	if s == nil {
		return nil
	}
	return aws.String(*s)
}

func copyInt32(n *int32) *int32 {
	if n == nil {
		return nil
	}
	return aws.Int32(*n)
}

func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}
