package hosts

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func TestContainerTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags map[string]string
		want string
	}{
		{"none", map[string]string{"Name": "web", "team": "a"}, ""},
		{"EKS managed node group", map[string]string{"eks:nodegroup-name": "ng", "eks:cluster-name": "prod"}, "tag eks:cluster-name"},
		{"EKS node group only", map[string]string{"eks:nodegroup-name": "ng"}, "tag eks:nodegroup-name"},
		{"EKS Auto Mode", map[string]string{"eks:eks-cluster-name": "prod"}, "tag eks:eks-cluster-name"},
		{"aws:eks", map[string]string{"aws:eks:cluster-name": "prod"}, "tag aws:eks:cluster-name"},
		{"self-managed Kubernetes", map[string]string{"kubernetes.io/cluster/prod": "owned"}, "tag kubernetes.io/cluster/prod"},
		{"cluster autoscaler", map[string]string{"k8s.io/cluster-autoscaler/enabled": "true"}, "tag k8s.io/cluster-autoscaler/enabled"},
		{"Karpenter", map[string]string{"karpenter.sh/nodepool": "default", "karpenter.k8s.aws/ec2nodeclass": "default"}, "tag karpenter.k8s.aws/ec2nodeclass"},
		{"Karpenter before v1", map[string]string{"karpenter.sh/provisioner-name": "default"}, "tag karpenter.sh/provisioner-name"},
		{"ECS capacity provider", map[string]string{"AmazonECSManaged": ""}, "tag AmazonECSManaged"},
		{"ECS", map[string]string{"aws:ecs:clusterName": "jobs"}, "tag aws:ecs:clusterName"},
		{"a key alike, not the key", map[string]string{"eks:cluster-name-old": "x", "kubernetes.io/name": "x", "karpenter.shx": "x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContainerTag(tc.tags); got != tc.want {
				t.Errorf("ContainerTag(%v) = %q, want %q", tc.tags, got, tc.want)
			}
		})
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// nodeadmUserData is the user data of an EKS node on AL2023, as EKS writes
// it into a managed node group's launch template: a MIME multipart
// message whose part is nodeadm's NodeConfig.
const nodeadmUserData = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: prod
    apiServerEndpoint: https://example.eks.amazonaws.com
    certificateAuthority: Y2VydA==
    cidr: 10.100.0.0/16

--BOUNDARY--
`

func TestUserDataMarker(t *testing.T) {
	bootstrapPart := "#!/bin/bash\nset -e\n/etc/eks/bootstrap.sh prod --kubelet-extra-args '--node-labels=x=y'\n"
	encodedPart := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"==B==\"\r\n\r\n" +
		"--==B==\r\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		b64([]byte(bootstrapPart)) + "\r\n--==B==--\r\n"
	nested := "Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
		"--inner\nContent-Type: text/x-shellscript\n\necho ECS_CLUSTER=jobs >> /etc/ecs/ecs.config\n--inner--\n--outer--\n"
	qp := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: quoted-printable\n\n" +
		"/etc/eks/boot=\nstrap.sh prod\n--b--\n"
	for _, tc := range []struct {
		name    string
		encoded string
		want    string
	}{
		{"empty", "", ""},
		{"a web server", b64([]byte("#!/bin/bash\nyum install -y httpd\nsystemctl start httpd\n")), ""},
		{"EKS bootstrap script", b64([]byte(bootstrapPart)), "/etc/eks/bootstrap.sh"},
		{"nodeadm NodeConfig", b64([]byte(nodeadmUserData)), "node.eks.aws"},
		{"ECS agent", b64([]byte("#!/bin/bash\necho ECS_CLUSTER=jobs >> /etc/ecs/ecs.config\n")), "/etc/ecs/ecs.config"},
		{"ECS cluster alone", b64([]byte("#!/bin/bash\ncat <<EOF > /tmp/x\nECS_CLUSTER=jobs\nEOF\n")), "ECS_CLUSTER="},
		{"a base64 MIME part", b64([]byte(encodedPart)), "/etc/eks/bootstrap.sh"},
		{"a quoted-printable MIME part", b64([]byte(qp)), "/etc/eks/bootstrap.sh"},
		{"nested multipart", b64([]byte(nested)), "/etc/ecs/ecs.config"},
		{"gzip", b64(gzipped(t, bootstrapPart)), "/etc/eks/bootstrap.sh"},
		{"gzip of MIME", b64(gzipped(t, nodeadmUserData)), "node.eks.aws"},
		{"base64 in lines", strings.Join(slices.Collect(chunks(b64([]byte(bootstrapPart)), 60)), "\n"), "/etc/eks/bootstrap.sh"},
		{"not base64: read as it is", "#!/bin/bash\n/etc/eks/bootstrap.sh prod\n", "/etc/eks/bootstrap.sh"},
		{"a multipart without boundary", b64([]byte("Content-Type: multipart/mixed\n\nnothing\n")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := UserDataMarker(tc.encoded); got != tc.want {
				t.Errorf("UserDataMarker = %q, want %q", got, tc.want)
			}
		})
	}
}

// chunks cuts s into pieces of n bytes.
func chunks(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > n {
			if !yield(s[:n]) {
				return
			}
			s = s[n:]
		}
		yield(s)
	}
}

func TestUserDataBomb(t *testing.T) {
	// Gzip of many zeros, then a marker: the marker is beyond what is read.
	huge := strings.Repeat("0", 4*maxUserData) + "/etc/eks/bootstrap.sh"
	if got := UserDataMarker(b64(gzipped(t, huge))); got != "" {
		t.Errorf("UserDataMarker read %q beyond %d bytes", got, maxUserData)
	}
}

func TestRefusedTagKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		tags map[string]string
		want []string
	}{
		{"fine", map[string]string{"Name": "x", "team": "a", "aws:autoscaling:groupName": "g", "eks:cluster-name": "c", "a+b=c,d.e@f:g_h-i": ""}, nil},
		{"Kubernetes", map[string]string{"kubernetes.io/cluster/prod": "owned", "Name": "n", "k8s.io/cluster-autoscaler/enabled": "true"},
			[]string{"k8s.io/cluster-autoscaler/enabled", "kubernetes.io/cluster/prod"}},
		{"a space", map[string]string{"Cost Center": "1"}, []string{"Cost Center"}},
		{"reserved names", map[string]string{".": "", "..": "", "_index": "", "...": "", "_index2": ""}, []string{".", "..", "_index"}},
		{"too long", map[string]string{strings.Repeat("k", 256): "", strings.Repeat("k", 255): ""}, []string{strings.Repeat("k", 256)}},
		{"not ASCII", map[string]string{"équipe": "a"}, []string{"équipe"}},
		{"empty", map[string]string{"": "x"}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RefusedTagKeys(tc.tags); !slices.Equal(got, tc.want) {
				t.Errorf("RefusedTagKeys = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOwnerOf(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tags       map[string]string
		kind, want string // the owner's Kind and Name
		fix        string // a part of Fix
	}{
		{"none", map[string]string{"Name": "x"}, "", "", ""},
		{"Auto Scaling", map[string]string{"aws:autoscaling:groupName": "web"}, "auto-scaling", "web", "the group's launch template"},
		{"CloudFormation", map[string]string{"aws:cloudformation:stack-name": "app", "aws:cloudformation:logical-id": "Server",
			"aws:cloudformation:stack-id": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"}, "cloudformation", "app", "(resource Server)"},
		{"CloudFormation's group", map[string]string{"aws:cloudformation:stack-name": "app", "aws:autoscaling:groupName": "app-Group-1"},
			"cloudformation", "app", "the stack's template"},
		{"EKS managed node group", map[string]string{"eks:nodegroup-name": "ng-1", "eks:cluster-name": "prod", "aws:autoscaling:groupName": "eks-ng-1-abc",
			"kubernetes.io/cluster/prod": "owned"}, "eks-nodegroup", "ng-1", "of cluster prod"},
		{"eksctl's node group", map[string]string{"eks:nodegroup-name": "ng-1", "aws:cloudformation:stack-name": "eksctl-prod-nodegroup-ng-1"},
			"eks-nodegroup", "ng-1", "CloudFormation stack eksctl-prod-nodegroup-ng-1 defines it"},
		{"Karpenter", map[string]string{"karpenter.sh/nodepool": "default", "karpenter.k8s.aws/ec2nodeclass": "al2023", "eks:eks-cluster-name": "prod"},
			"karpenter", "default", "the EC2NodeClass al2023's metadataOptions"},
		{"Karpenter before v1", map[string]string{"karpenter.sh/provisioner-name": "old"}, "karpenter", "old", "the AWSNodeTemplate's metadataOptions"},
		{"Elastic Beanstalk", map[string]string{"elasticbeanstalk:environment-name": "shop-prod", "aws:cloudformation:stack-name": "awseb-e-abc-stack",
			"aws:autoscaling:groupName": "awseb-e-abc-AWSEBAutoScalingGroup-1"}, "elastic-beanstalk", "shop-prod", "DisableIMDSv1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := OwnerOf(tc.tags)
			switch {
			case tc.kind == "" && o != nil:
				t.Errorf("OwnerOf = %+v, want none", o)
			case tc.kind == "":
			case o == nil:
				t.Errorf("OwnerOf = nil, want %s %s", tc.kind, tc.want)
			case o.Kind != tc.kind || o.Name != tc.want || !strings.Contains(o.Fix, tc.fix):
				t.Errorf("OwnerOf = %+v, want %s %s with %q in Fix", o, tc.kind, tc.want, tc.fix)
			}
		})
	}
}
