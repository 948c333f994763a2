package flagdoc

import (
	"flag"
	"fmt"
	"strings"
)

// CompareHelp is Compare plus the command's usage text: it also reports
// every row of the README's table whose flag help (what "-help" prints)
// does not show as "  -name". None means the README, the flags and -help
// agree.
func CompareHelp(readme, heading string, fs *flag.FlagSet, help string) []string {
	diffs := Compare(readme, heading, fs)
	rows, err := Table(readme, heading)
	if err != nil {
		return diffs // Compare has reported it
	}
	for _, r := range rows {
		if !strings.Contains(help, "  -"+r.Name+" ") && !strings.Contains(help, "  -"+r.Name+"\n") {
			diffs = append(diffs, fmt.Sprintf("README line %d: -help does not show -%s", r.Line, r.Name))
		}
	}
	return diffs
}
