// Package hosts judges instances by what the control plane shows of them
// beyond their metadata options, for the plan and the posture alike:
// container hosts, the tag keys EC2 refuses in the metadata, and the owner
// that launches and replaces an instance.
package hosts

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/imdsopts/imdsopts/internal/retry"
)

// What the control plane shows of an instance beyond its options: whether
// it runs containers (one network hop further from IMDS than the
// instance), who owns it (and so undoes a change made in place), and
// whether its tag keys can be served in the instance metadata. The plan and
// the posture both judge instances by these rules.

// containerTagKeys are the tag keys that EKS, Kubernetes' cluster
// autoscaler and ECS put on the instances of their clusters, and
// containerTagPrefixes the prefixes of those Kubernetes and Karpenter put
// on theirs.
var (
	containerTagKeys = []string{"eks:cluster-name", "eks:nodegroup-name", "eks:eks-cluster-name", "aws:eks:cluster-name",
		"k8s.io/cluster-autoscaler/enabled", "AmazonECSManaged", "aws:ecs:clusterName"}
	containerTagPrefixes = []string{"kubernetes.io/cluster/", "karpenter.sh/", "karpenter.k8s.aws/"}
)

// ContainerTag returns what in tags shows a container host ("tag
// eks:cluster-name"), or "" when nothing does. The keys are tried in the
// order of containerTagKeys, then the prefixed keys in sorted order, so
// that the same tags always give the same reason.
func ContainerTag(tags map[string]string) string {
	for _, k := range containerTagKeys {
		if _, ok := tags[k]; ok {
			return "tag " + k
		}
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		for _, p := range containerTagPrefixes {
			if strings.HasPrefix(k, p) {
				return "tag " + k
			}
		}
	}
	return ""
}

// userDataMarkers are what the user data of a container host holds: the
// EKS bootstrap script of the Amazon Linux 2 AMIs, nodeadm's NodeConfig
// (apiVersion node.eks.aws/v1alpha1, also the MIME part's content type) of
// the AL2023 AMIs, and the ECS agent's configuration.
var userDataMarkers = []string{"/etc/eks/bootstrap.sh", "node.eks.aws", "/etc/ecs/ecs.config", "ECS_CLUSTER="}

// maxUserData bounds how much decoded user data is read: EC2 takes 16 KB
// of it, so this leaves room for compressed data, not for a bomb.
const maxUserData = 1 << 20

// UserDataMarker returns the first marker of userDataMarkers that the user
// data holds, or "". encoded is as EC2 answers it: base64 (text that is
// not base64 is read as it is). The data may be gzip-compressed and a MIME
// multipart message (as cloud-init, EKS and Karpenter write it), its parts
// base64 or quoted-printable encoded, compressed, or multipart again.
func UserDataMarker(encoded string) string {
	if strings.TrimSpace(encoded) == "" {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
	if err != nil {
		raw = []byte(encoded)
	}
	var text bytes.Buffer
	readUserData(raw, &text, 0)
	for _, m := range userDataMarkers {
		if bytes.Contains(text.Bytes(), []byte(m)) {
			return m
		}
	}
	return ""
}

// readUserData writes to out the text of data: data itself, gunzipped,
// and the decoded parts of a MIME multipart message, to depth 3, up to
// maxUserData in all.
func readUserData(data []byte, out *bytes.Buffer, depth int) {
	if depth > 3 || out.Len() >= maxUserData {
		return
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			unzipped, _ := io.ReadAll(io.LimitReader(zr, int64(maxUserData-out.Len())))
			readUserData(unzipped, out, depth+1)
		}
		return
	}
	out.Write(data[:min(len(data), maxUserData-out.Len())])
	out.WriteByte('\n')
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	header, err := tp.ReadMIMEHeader()
	if err != nil && len(header) == 0 {
		return
	}
	media, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(media, "multipart/") || params["boundary"] == "" {
		return
	}
	mr := multipart.NewReader(tp.R, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err != nil {
			return
		}
		var body io.Reader = part
		switch strings.ToLower(part.Header.Get("Content-Transfer-Encoding")) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, part)
		case "quoted-printable":
			body = quotedprintable.NewReader(part)
		}
		b, _ := io.ReadAll(io.LimitReader(body, int64(maxUserData)))
		out.WriteString(part.Header.Get("Content-Type") + "\n")
		nested := b
		if ct := part.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "multipart/") {
			nested = append([]byte("Content-Type: "+ct+"\r\n\r\n"), b...)
		}
		readUserData(nested, out, depth+1)
	}
}

// imdsTagKey is the syntax EC2 requires of every tag key of an instance
// whose tags are in its instance metadata (InstanceMetadataTags
// "enabled"); the keys ".", ".." and "_index" are reserved besides. EC2
// refuses to turn tags on for an instance with any other key, and to launch
// one, with InvalidParameterValue.
var imdsTagKey = regexp.MustCompile(`^[0-9a-zA-Z\-_+=,.@:]{1,255}$`)

// RefusedTagKeys returns the keys of tags that EC2 refuses in the instance
// metadata, sorted; nil when there are none.
func RefusedTagKeys(tags map[string]string) []string {
	var bad []string
	for k := range tags {
		if !imdsTagKey.MatchString(k) || k == "." || k == ".." || k == "_index" {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	return bad
}

// Owner is what launched an instance and replaces or updates it, as its
// tags show: a change made to the instance in place is undone when the
// owner replaces it (a scale-in and out, a node group update, a stack
// update), so the lasting fix goes where Fix says.
type Owner struct {
	// Kind is "elastic-beanstalk" (tag elasticbeanstalk:environment-name),
	// "eks-nodegroup" (an EKS managed node group: eks:nodegroup-name),
	// "karpenter" (karpenter.sh/nodepool, or karpenter.sh/provisioner-name
	// of Karpenter before v1), "cloudformation"
	// (aws:cloudformation:stack-name) or "auto-scaling"
	// (aws:autoscaling:groupName). When an instance has the tags of several,
	// the first of this list is its owner: the one that makes the others.
	Kind string
	// Name is the environment, node group, node pool, stack or group.
	Name string
	// Fix says where the lasting fix goes.
	Fix string
}

// String formats the owner as "KIND NAME".
func (o Owner) String() string { return o.Kind + " " + o.Name }

// OwnerOf returns the owner tags show, or nil.
func OwnerOf(tags map[string]string) *Owner {
	also := ""
	if stack := tags["aws:cloudformation:stack-name"]; stack != "" {
		also = " (CloudFormation stack " + stack + " defines it: change it there)"
	}
	switch {
	case tags["elasticbeanstalk:environment-name"] != "":
		return &Owner{Kind: "elastic-beanstalk", Name: tags["elasticbeanstalk:environment-name"],
			Fix: "the environment's option settings: namespace aws:autoscaling:launchconfiguration, DisableIMDSv1 true " +
				"(Elastic Beanstalk launches its instances, and replaces them, from its own launch template)"}
	case tags["eks:nodegroup-name"] != "":
		fix := "the node group's launch template: a version with the metadata options, set on the node group (UpdateNodegroupVersion)"
		if c := tags["eks:cluster-name"]; c != "" {
			fix += " of cluster " + c
		}
		return &Owner{Kind: "eks-nodegroup", Name: tags["eks:nodegroup-name"], Fix: fix + "; EKS replaces the nodes from it" + also}
	case tags["karpenter.sh/nodepool"] != "" || tags["karpenter.sh/provisioner-name"] != "":
		name := tags["karpenter.sh/nodepool"]
		class := "the EC2NodeClass"
		if name == "" {
			name, class = tags["karpenter.sh/provisioner-name"], "the AWSNodeTemplate"
		}
		if nc := tags["karpenter.k8s.aws/ec2nodeclass"]; nc != "" {
			class += " " + nc
		}
		return &Owner{Kind: "karpenter", Name: name,
			Fix: class + "'s metadataOptions (httpTokens, httpPutResponseHopLimit, httpEndpoint); Karpenter launches new nodes from it and replaces drifted ones"}
	case tags["aws:cloudformation:stack-name"] != "":
		fix := "the stack's template: the metadata options of the launch template, launch configuration or instance it defines"
		if id := tags["aws:cloudformation:logical-id"]; id != "" {
			fix += " (resource " + id + ")"
		}
		return &Owner{Kind: "cloudformation", Name: tags["aws:cloudformation:stack-name"],
			Fix: fix + "; a stack update or a replacement puts back what the template says"}
	case tags[TagGroupName] != "":
		return &Owner{Kind: "auto-scaling", Name: tags[TagGroupName],
			Fix: "the group's launch template: a version with the metadata options that the group launches (PlanTemplates, ApplyTemplates); it replaces instances from it"}
	}
	return nil
}

// TagMap returns tags as a map.
func TagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// Tags EC2 and EC2 Auto Scaling put on the instances they launch.
const (
	TagGroupName       = "aws:autoscaling:groupName"
	TagTemplateID      = "aws:ec2launchtemplate:id"
	TagTemplateVersion = "aws:ec2launchtemplate:version"
)

// Version selectors of launch templates.
const (
	VersionDefault = "$Default"
	VersionLatest  = "$Latest"
)

// TemplateGone reports whether EC2 answered that a launch template does
// not exist.
func TemplateGone(err error) bool {
	return retry.APICode(err) == "InvalidLaunchTemplateId.NotFound" || retry.APICode(err) == "InvalidLaunchTemplateName.NotFoundException"
}

// VersionGone reports whether EC2 answered that a version of a launch
// template does not exist.
func VersionGone(err error) bool {
	return retry.APICode(err) == "InvalidLaunchTemplateId.VersionNotFound"
}

// ContainerMinHop is the least hop limit at which a container on an
// instance gets the answer to its token request.
const ContainerMinHop = 2

// CutOff reports whether an instance with the options o would require
// tokens with a hop limit below limit, its endpoint on: what a container
// host must not be left with. A hop limit o does not report is EC2's
// default, 1.
func CutOff(o *types.InstanceMetadataOptionsResponse, limit int32) bool {
	if o == nil {
		o = &types.InstanceMetadataOptionsResponse{}
	}
	hop := aws.ToInt32(o.HttpPutResponseHopLimit)
	if hop == 0 {
		hop = 1
	}
	return o.HttpTokens == types.HttpTokensStateRequired && hop < limit && o.HttpEndpoint != types.InstanceMetadataEndpointStateDisabled
}

// SortedOwners returns the keys of owners, by kind then name.
func SortedOwners[V any](owners map[Owner]V) []Owner {
	return slices.SortedFunc(maps.Keys(owners), func(x, y Owner) int {
		return cmp.Or(strings.Compare(x.Kind, y.Kind), strings.Compare(x.Name, y.Name))
	})
}

// AppendOnce appends v to s unless s holds it already.
func AppendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// Plural returns word, with an s unless n is 1.
func Plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// AutoScalingAPI is the part of *autoscaling.Client that the plan and the
// posture call, to learn how the account's Auto Scaling groups launch
// instances.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(ctx context.Context, params *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeLaunchConfigurations(ctx context.Context, params *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error)
}
