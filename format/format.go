// Package format renders listing and inspect output the way docker's
// --format flag does, so that users' habits carry over to sbx.
//
// Table handles listings (ps, images, volume ls, ...): the default table,
// "table TEMPLATE" (a header line plus one aligned line per row), "json"
// (one JSON object per line) and plain Go templates executed per row.
// Each handles inspect-style output: an indented JSON array by default, or a
// template executed once per value. Parse validates a --format value up front.
//
// Templates get docker's functions: json, join, split, lower, upper, title,
// truncate, pad, plus text/template's builtins (println, printf, index, ...).
// The two-character sequences `\t` and `\n` in a format are turned into a tab
// and a newline before parsing, as docker does.
//
// HumanSize, HumanDuration and Since reproduce the strings docker prints for
// sizes and ages (github.com/docker/go-units), without depending on it.
//
// The package is pure: it depends only on the standard library and holds no
// mutable package-level state.
package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"text/template"
	"text/template/parse"
	"unicode"
)

// Column names a field of a row struct and the header docker prints for it.
type Column struct{ Field, Header string }

const (
	tableKey = "table"
	jsonKey  = "json"
	// tmplName is the name given to parsed templates; it shows up in Go's
	// error texts, which are cleaned up by parseError and execError.
	tmplName = "format"
)

// Table writes rows (a slice or array of structs or pointers to structs; a
// single non-slice value is treated as one row) per docker's --format rules:
//
//   - "" or "table": the default table, i.e. "table " followed by
//     {{.Field}} for each of cols, joined by tabs.
//   - "table TEMPLATE": a header line, then one line per row, aligned with
//     text/tabwriter exactly as docker does. The header is produced by running
//     the same template over the header names: a field's header is the
//     Header of the Column with that Field, else the field name upper-cased
//     with camel case split into words ("CreatedSince" -> "CREATED SINCE").
//   - "json": one JSON object per row, one per line.
//   - anything else: a Go template executed per row, each followed by a
//     newline; no header, tabs are literal.
//
// Like docker, all output is rendered before anything is written, so a
// template that fails on some row writes nothing at all.
func Table(w io.Writer, format string, cols []Column, rows any) error {
	text, table, err := tableText(format, cols)
	if err != nil {
		return err
	}
	tmpl, err := parseTemplate(text, basicFuncs())
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, row := range elements(rows) {
		if err := execRow(&body, tmpl, row); err != nil {
			return err
		}
	}
	if !table {
		_, err := body.WriteTo(w)
		return err
	}

	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 10, 1, 3, ' ', 0)
	// As docker, a header that fails to render is written as far as it got:
	// the rows matter more than the header.
	tw.Write(headerLine(text, cols))
	tw.Write([]byte("\n"))
	tw.Write(body.Bytes())
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = out.WriteTo(w)
	return err
}

// Each executes format once per value, inspect style. "" and "json" print the
// whole of values (a slice, or a single value) as a JSON array indented by four
// spaces, as docker inspect does. Any other format is a template executed per
// value, each followed by a newline; values are written as they render, and
// the first failing value stops the output without writing anything for it.
func Each(w io.Writer, format string, values any) error {
	elems := elements(values)
	if format == "" || format == jsonKey {
		if elems == nil {
			elems = []any{}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(elems); err != nil {
			return fmt.Errorf("--format: %s", oneLine(err.Error()))
		}
		_, err := buf.WriteTo(w)
		return err
	}
	tmpl, err := parseTemplate(unescape(format), basicFuncs())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, v := range elems {
		buf.Reset()
		if err := execRow(&buf, tmpl, v); err != nil {
			return err
		}
		if _, err := buf.WriteTo(w); err != nil {
			return err
		}
	}
	return nil
}

// Parse checks a --format value up front so that a bad template fails before
// anything happens. It accepts everything Table and Each accept ("", "json",
// "table ..." and plain templates). The error reads
// `invalid --format template: <parser error>`.
func Parse(format string) error {
	text, _, err := tableText(format, nil)
	if err != nil {
		return err
	}
	_, err = parseTemplate(text, basicFuncs())
	return err
}

// tableText turns a Table format into the template text to execute and
// whether it is a table. cols supplies the default table.
func tableText(format string, cols []Column) (text string, table bool, err error) {
	if format == jsonKey {
		return "{{json .}}", false, nil
	}
	table = strings.HasPrefix(format, tableKey)
	text = format
	if table {
		text = text[len(tableKey):]
	}
	text = strings.Trim(text, " ")
	if text == "" && (table || format == "") {
		fields := make([]string, len(cols))
		for i, c := range cols {
			fields[i] = "{{." + c.Field + "}}"
		}
		text, table = strings.Join(fields, "\t"), true
	}
	return unescape(text), table, nil
}

// unescape turns the two-character sequences `\t` and `\n`, as typed on a
// command line, into a tab and a newline.
func unescape(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(s)
}

// elements returns the rows held by v: the elements of a slice or array, the
// value itself otherwise, nothing for nil.
func elements(v any) []any {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
	}
	return []any{v}
}

func parseTemplate(text string, funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New(tmplName).Funcs(funcs).Parse(text)
	if err != nil {
		return nil, parseError(err)
	}
	return t, nil
}

// execRow renders one row into a scratch buffer and appends it, with a
// newline, to dst only if the template succeeded.
func execRow(dst *bytes.Buffer, tmpl *template.Template, row any) error {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, row); err != nil {
		return execError(err)
	}
	buf.WriteByte('\n')
	dst.Write(buf.Bytes())
	return nil
}

// Compiled at their first use, not at the start of every sbx command.
var (
	parsePrefix = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^template: ` + tmplName + `:(\d+):(?:\d+:)? ?`)
	})
	execPrefix = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^template: ` + tmplName + `:\d+:\d+: executing "[^"]*" at `)
	})
)

// parseError turns a text/template parse error into one line:
// `invalid --format template: function "foo" not defined`.
func parseError(err error) error {
	msg := err.Error()
	if m := parsePrefix().FindStringSubmatch(msg); m != nil {
		rest := msg[len(m[0]):]
		if m[1] != "1" {
			rest = "line " + m[1] + ": " + rest
		}
		msg = rest
	}
	return errors.New("invalid --format template: " + oneLine(msg))
}

// execError turns a text/template execution error into one line:
// `--format: <.Foo>: can't evaluate field Foo in type main.row`.
func execError(err error) error {
	msg := execPrefix().ReplaceAllString(err.Error(), "")
	msg = strings.TrimPrefix(msg, "template: ")
	return errors.New("--format: " + oneLine(msg))
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`)
}

// basicFuncs are docker's template functions (println, printf, index, len, ...
// come with text/template).
func basicFuncs() template.FuncMap {
	return template.FuncMap{
		"json":     jsonString,
		"split":    strings.Split,
		"join":     strings.Join,
		"title":    title,
		"lower":    strings.ToLower,
		"upper":    strings.ToUpper,
		"pad":      pad,
		"truncate": truncate,
	}
}

// headerFuncs replace basicFuncs when rendering the header line so that the
// column names come out unchanged, as docker's HeaderFunctions do. pad still
// pads, to keep the header aligned with its column.
func headerFuncs() template.FuncMap {
	same := func(v any) string { return fmt.Sprint(v) }
	sameWith := func(v any, _ string) string { return fmt.Sprint(v) }
	return template.FuncMap{
		"json":     same,
		"split":    sameWith,
		"join":     sameWith,
		"title":    same,
		"lower":    same,
		"upper":    same,
		"pad":      func(v any, prefix, suffix int) string { return pad(fmt.Sprint(v), prefix, suffix) },
		"truncate": func(v any, _ int) string { return fmt.Sprint(v) },
	}
}

func jsonString(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSpace(buf.String())
}

// title upper-cases the first letter of each word (strings.Title's rule).
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		sep := !(unicode.IsLetter(prev) || unicode.IsDigit(prev) || prev == '_')
		prev = r
		if sep {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// pad adds spaces around a non-empty string.
func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", max(prefix, 0)) + s + strings.Repeat(" ", max(suffix, 0))
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:max(n, 0)]
}

// headerLine renders the header of a table template: the template runs over
// a value whose fields are the header strings of the fields it refers to.
func headerLine(text string, cols []Column) []byte {
	tmpl, err := template.New(tmplName).Funcs(basicFuncs()).Funcs(headerFuncs()).Parse(text)
	if err != nil {
		return nil
	}
	byField := make(map[string]string, len(cols))
	for _, c := range cols {
		byField[c.Field] = c.Header
	}
	root := headerMap{"": ""}
	for _, path := range fieldPaths(tmpl.Tree.Root) {
		root.add(path, byField)
	}
	var buf bytes.Buffer
	_ = tmpl.Execute(&buf, root) // partial output on error, as docker
	return buf.Bytes()
}

// headerMap holds the header strings for a template's fields. A field that
// has sub-fields (.A.B) maps to a nested headerMap whose "" key holds its own
// header, which String returns when the field itself is printed.
type headerMap map[string]any

func (m headerMap) String() string {
	s, _ := m[""].(string)
	return s
}

func (m headerMap) add(path []string, byField map[string]string) {
	cur := m
	for i, name := range path {
		h := headerFor(path[:i+1], byField)
		last := i == len(path)-1
		switch v := cur[name].(type) {
		case nil:
			if last {
				cur[name] = h
				return
			}
			next := headerMap{"": h}
			cur[name] = next
			cur = next
		case string:
			if last {
				return
			}
			next := headerMap{"": v}
			cur[name] = next
			cur = next
		case headerMap:
			cur = v
		}
	}
}

// headerFor returns the header for a field path: the Column header for the
// dotted path, else the last name upper-cased and split into words.
func headerFor(path []string, byField map[string]string) string {
	if h, ok := byField[strings.Join(path, ".")]; ok {
		return h
	}
	return headerName(path[len(path)-1])
}

// headerName upper-cases a field name and splits camel case into words:
// "CreatedSince" -> "CREATED SINCE", "ImageID" -> "IMAGE ID".
func headerName(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if c == '_' {
			b.WriteByte(' ')
			continue
		}
		if i > 0 && unicode.IsUpper(c) {
			p := r[i-1]
			if unicode.IsLower(p) || unicode.IsDigit(p) ||
				(unicode.IsUpper(p) && i+1 < len(r) && unicode.IsLower(r[i+1])) {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// fieldPaths lists the field references (.A, .A.B, $.A) in a parse tree.
func fieldPaths(root parse.Node) [][]string {
	var paths [][]string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			paths = append(paths, n.Ident)
		case *parse.VariableNode:
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				paths = append(paths, n.Ident[1:])
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			walkBranch(&n.BranchNode, walk)
		case *parse.RangeNode:
			walkBranch(&n.BranchNode, walk)
		case *parse.WithNode:
			walkBranch(&n.BranchNode, walk)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(root)
	return paths
}

func walkBranch(b *parse.BranchNode, walk func(parse.Node)) {
	walk(b.Pipe)
	walk(b.List)
	walk(b.ElseList)
}
