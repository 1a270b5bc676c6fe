package fake

// ec2NamesSDKOnly are names of members the AWS SDK for Go has but the EC2
// API model TestE2EEC2NamesMatchModel reads does not have yet (the SDK is
// newer), taken from the SDK's EC2 deserializers. Members of that kind with
// names the default rules give need no entry.
var ec2NamesSDKOnly = map[string]ec2Name{
	"Image.ImageWatermarks":                              {xml: "imageWatermarkSet"},
	"InstanceTypeSpecification.SupportedInstanceTypes":   {xml: "supportedInstanceTypeSet"},
	"InstanceTypeSpecification.UnsupportedInstanceTypes": {xml: "unsupportedInstanceTypeSet"},
}

// ec2NameOf returns the names of the member key (Go type and field) that
// differ from the default rules.
func ec2NameOf(key string) ec2Name {
	if n, ok := ec2Names[key]; ok {
		return n
	}
	return ec2NamesSDKOnly[key]
}
