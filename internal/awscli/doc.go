// Package awscli emulates the parts of the AWS CLI that every command of
// imdsopts shares, so that each command reads its parameters and prints its
// output as "aws ec2 ..." does, byte for byte where the AWS CLI is defined:
//
//   - the output formats json, text and table ([Printer]), with the JMESPath
//     --query option ([CompileQuery]) and the AWS CLI's order of keys;
//   - the shorthand syntax of structure parameters ([ParseShorthand],
//     [ParseFilters]) and list parameters that take several arguments
//     ([ExpandListArgs]);
//   - --cli-input-json: file:// parameters read with a size limit
//     ([LoadParam]) and JSON objects decoded with the exact, case-sensitive
//     member names of the service model ([DecodeInput]);
//   - echoing what a user gave, safely: short, with control characters
//     escaped ([Quote], [Sanitize], [Shorten]), and suggesting the name a
//     user probably meant ([Nearest]).
//
// It knows nothing of instance metadata options: the commands build their
// documents and pass the order of their keys. Nor does it print: [Printer]
// renders, and a command writes, knowing what it has done when the query
// fails on the output or the output cannot be written.
//
// # Documents
//
// A document is what a command prints: the values encoding/json decodes into
// an any (map[string]any, []any, string, float64, bool and nil), which are
// the values JMESPath works on. Fields the service did not return are left
// out, as the AWS CLI leaves them out; numbers are float64.
package awscli
