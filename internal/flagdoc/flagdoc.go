// Package flagdoc compares a command's flags with the flag table that
// documents them in README.md, so that the two cannot drift: every flag
// has a row, every row is a flag, and the default the README gives is the
// flag's.
//
// A table is the first Markdown table under a heading whose header row is
// "| flag | default | meaning |". Each row documents one flag, its name in
// backticks in the first cell (`-listen`). The default cell is either the
// flag's default in backticks (`127.0.0.1:5070`, compared exactly with the
// flag's DefValue), or words ("none", "bundled music", "any free") for a
// flag whose default is the zero value ("", "0", "false") that the
// command then fills in or reads as "not set".
package flagdoc

import (
	"bufio"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// Row is one row of a flag table.
type Row struct {
	Name    string // without the dash
	Default string // the cell, backticks kept
	Line    int    // 1-based line in the README
}

// Table returns the rows of the flag table in the section whose heading
// line starts with heading ("## The park service").
func Table(readme, heading string) ([]Row, error) {
	sc := bufio.NewScanner(strings.NewReader(readme))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows []Row
	in, inTable, done := false, false, false
	n := 0
	for sc.Scan() && !done {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, heading):
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "## ") || (inTable && !strings.HasPrefix(line, "|")):
			done = true
			continue
		}
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := splitRow(line)
		if !inTable {
			if len(cells) >= 3 && cells[0] == "flag" && cells[1] == "default" {
				inTable = true
			}
			continue
		}
		if len(cells) < 3 || strings.Trim(cells[0], "-: ") == "" {
			continue // the |---| line
		}
		name := strings.Trim(cells[0], "`")
		if !strings.HasPrefix(name, "-") || strings.ContainsAny(name, " ,`") {
			return nil, fmt.Errorf("line %d: the first cell %q is not one flag in backticks (one flag a row)", n, cells[0])
		}
		rows = append(rows, Row{Name: strings.TrimPrefix(name, "-"), Default: cells[1], Line: n})
	}
	if !in {
		return nil, fmt.Errorf("no heading %q", heading)
	}
	if !inTable {
		return nil, fmt.Errorf("no | flag | default | meaning | table under %q", heading)
	}
	return rows, nil
}

// splitRow splits a table row into its trimmed cells; a | inside
// backticks is part of the cell.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range line {
		switch {
		case r == '`':
			code = !code
		case r == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// Compare returns every difference between the README's table under
// heading and fs: flags without a row, rows without a flag, rows given
// twice and defaults that differ. None means they match.
func Compare(readme, heading string, fs *flag.FlagSet) []string {
	rows, err := Table(readme, heading)
	if err != nil {
		return []string{err.Error()}
	}
	var diffs []string
	seen := map[string]Row{}
	for _, r := range rows {
		if prev, ok := seen[r.Name]; ok {
			diffs = append(diffs, fmt.Sprintf("README line %d: -%s has a row already (line %d)", r.Line, r.Name, prev.Line))
			continue
		}
		seen[r.Name] = r
		f := fs.Lookup(r.Name)
		if f == nil {
			diffs = append(diffs, fmt.Sprintf("README line %d: -%s is not a flag of %s", r.Line, r.Name, fs.Name()))
			continue
		}
		if d := checkDefault(r.Default, f.DefValue); d != "" {
			diffs = append(diffs, fmt.Sprintf("README line %d: -%s: %s", r.Line, r.Name, d))
		}
	}
	var missing []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := seen[f.Name]; !ok {
			missing = append(missing, "-"+f.Name)
		}
	})
	sort.Strings(missing)
	for _, m := range missing {
		diffs = append(diffs, fmt.Sprintf("%s %s has no row in the README's table under %q", fs.Name(), m, heading))
	}
	return diffs
}

// checkDefault compares a default cell with a flag's DefValue.
func checkDefault(cell, def string) string {
	if strings.HasPrefix(cell, "`") && strings.HasSuffix(cell, "`") && len(cell) >= 2 && strings.Count(cell, "`") == 2 {
		if got := strings.Trim(cell, "`"); got != def {
			return fmt.Sprintf("the README says the default is %q, the flag's is %q", got, def)
		}
		return ""
	}
	if strings.Contains(cell, "`") {
		return fmt.Sprintf("default cell %q: want the default alone in backticks, or words", cell)
	}
	switch def {
	case "", "0", "false":
		return ""
	}
	return fmt.Sprintf("the README words the default as %q, but the flag's is %q: write it in backticks", cell, def)
}
