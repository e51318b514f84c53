package build

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/sbx-dev/sbx/image"
	"github.com/sbx-dev/sbx/run/spec"
)

// defaultShell is what shell-form RUN, CMD and ENTRYPOINT run under without SHELL.
var defaultShell = []string{"/bin/sh", "-c"}

// Kind says what a step does to the image.
type Kind int

const (
	// KindConfig changes only the image's configuration: no layer.
	KindConfig Kind = iota
	// KindRun runs a command in a container on the stage's root filesystem.
	KindRun
	// KindCopy copies files from the context, a stage or an image (COPY, and ADD of local
	// files that are not archives).
	KindCopy
	// KindAdd is ADD: local archives are unpacked, URLs fetched.
	KindAdd
	// KindWorkdir makes the working directory, a layer only when it did not exist.
	KindWorkdir
)

// Plan is a Dockerfile read, checked and expanded: the stages the target needs, in
// Dockerfile order, each instruction with its variables substituted. Making a plan
// touches nothing: every mistake in the Dockerfile or the flags is found before the first
// layer exists.
type Plan struct {
	Stages []*Stage
	// Unused are --build-arg names no ARG declared (docker warns about them).
	Unused []string
}

// Stage is one FROM and the steps under it.
type Stage struct {
	Index int // in the Dockerfile
	Name  string
	Line  int
	Text  string // "FROM busybox AS build", expanded
	// Exactly one of Scratch, From and Image says what the stage starts from.
	Scratch bool
	From    *Stage
	Image   string
	Steps   []*Step
	// Config is the configuration at the end of the stage; Author is MAINTAINER's.
	Config image.ContainerConfig
	Author string
}

// Step is one instruction after FROM.
type Step struct {
	Line int
	Text string // expanded, as shown in progress and recorded in the history
	Kind Kind
	// Config is the configuration once the step is done; Before the one it runs under.
	Before, Config image.ContainerConfig
	// RUN: the command and its environment (the config's plus the ARGs in scope).
	Args []string
	Env  []string
	// COPY/ADD.
	Sources   []string                     // as written (expanded), relative to the source root
	Heredocs  []instructions.SourceContent // COPY <<EOF
	Dest      string                       // absolute, resolved against WORKDIR
	DestDir   bool                         // dest names a directory (trailing / or several sources)
	FromStage *Stage                       // COPY --from=STAGE
	FromImage string                       // COPY --from=IMAGE
	Chown     string
	Chmod     uint32 // --chmod, 0 for none
	Checksum  string // ADD --checksum
	// KeyExtra is what else decides the step's result beyond Text: the ARG values a RUN
	// sees, an ARG's effective value.
	KeyExtra string
}

// Resolver finds a base image's configuration by reference; ErrNoImage when there is none.
type Resolver func(ref string) (*image.Config, error)

// ErrNoImage is what a Resolver returns for a reference that names no local image.
var ErrNoImage = errors.New("no such image")

// PlanOptions are the inputs of a plan besides the Dockerfile.
type PlanOptions struct {
	Dockerfile []byte
	Name       string            // the Dockerfile's name in messages
	BuildArgs  map[string]string // --build-arg
	Target     string            // --target
	Resolve    Resolver
}

// lineError names the Dockerfile line a mistake is on.
func lineError(name string, line int, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
}

// ParseBuildArgs reads --build-arg values: K=V, or K alone for K's value in the
// environment (skipped when unset, as docker does).
func ParseBuildArgs(args []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, hasValue := strings.Cut(a, "=")
		if !validArgName(k) {
			return nil, fmt.Errorf("invalid --build-arg %q: expected NAME=VALUE, NAME a variable name", a)
		}
		if !hasValue {
			var ok bool
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

var argName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`) })

func validArgName(k string) bool { return argName().MatchString(k) }

// predefinedArgs are the global ARGs buildkit provides without a declaration in the
// Dockerfile (a stage still needs `ARG NAME` to see one).
func predefinedArgs() map[string]string {
	p := "linux/" + runtime.GOARCH
	return map[string]string{
		"TARGETPLATFORM": p, "TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "TARGETVARIANT": "",
		"BUILDPLATFORM": p, "BUILDOS": "linux", "BUILDARCH": runtime.GOARCH, "BUILDVARIANT": "",
	}
}

// proxyArgs may be given with --build-arg without an ARG, and reach RUN only (docker
// keeps them out of the image's history too).
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// scope is the variables an instruction is expanded with: ARGs in scope, then ENV, which
// wins over an ARG of the same name.
type scope struct {
	args    map[string]*string // declared ARGs; nil value: declared without a value
	argList []string           // declaration order
}

type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envGetter) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *scope) vars(env []string) envGetter {
	m := envGetter{}
	for k, v := range s.args {
		if v != nil {
			m[k] = *v
		}
	}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func (s *scope) declare(k string, v *string) {
	if _, ok := s.args[k]; !ok {
		s.argList = append(s.argList, k)
	}
	s.args[k] = v
}

// runArgs is the KEY=VALUE list of ARGs with a value, in declaration order.
func (s *scope) runArgs() []string {
	var out []string
	for _, k := range s.argList {
		if v := s.args[k]; v != nil {
			out = append(out, k+"="+*v)
		}
	}
	return out
}

// MakePlan parses and checks a Dockerfile and expands it for the given flags.
func MakePlan(o PlanOptions) (*Plan, error) {
	name := o.Name
	if name == "" {
		name = "Dockerfile"
	}
	res, err := parser.Parse(bytes.NewReader(o.Dockerfile))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(res.AST.Children) == 0 {
		return nil, fmt.Errorf("%s: the file has no instructions", name)
	}
	lex := shell.NewLex(res.EscapeToken)

	// Pass 1: the instructions, grouped in stages, ARGs before the first FROM apart.
	type rawStage struct {
		stage *instructions.Stage
		cmds  []instructions.Command
		lines []int
	}
	var raws []*rawStage
	var metaArgs []*instructions.ArgCommand
	var metaLines []int
	for _, n := range res.AST.Children {
		v, err := instructions.ParseInstruction(n)
		if err != nil {
			var unknown *instructions.UnknownInstructionError
			if errors.As(err, &unknown) {
				return nil, lineError(name, n.StartLine, "unknown instruction: %s", strings.ToUpper(n.Value))
			}
			return nil, lineError(name, n.StartLine, "%s: %v", strings.ToUpper(n.Value), err)
		}
		switch c := v.(type) {
		case *instructions.Stage:
			raws = append(raws, &rawStage{stage: c})
			raws[len(raws)-1].lines = append(raws[len(raws)-1].lines, n.StartLine)
		case *instructions.ArgCommand:
			if len(raws) == 0 {
				metaArgs = append(metaArgs, c)
				metaLines = append(metaLines, n.StartLine)
				continue
			}
			raws[len(raws)-1].cmds = append(raws[len(raws)-1].cmds, c)
			raws[len(raws)-1].lines = append(raws[len(raws)-1].lines, n.StartLine)
		case instructions.Command:
			if len(raws) == 0 {
				return nil, lineError(name, n.StartLine, "%s before FROM: a Dockerfile must start with FROM (only ARG may come before it)", strings.ToUpper(n.Value))
			}
			raws[len(raws)-1].cmds = append(raws[len(raws)-1].cmds, c)
			raws[len(raws)-1].lines = append(raws[len(raws)-1].lines, n.StartLine)
		default:
			return nil, lineError(name, n.StartLine, "%s is not supported", strings.ToUpper(n.Value))
		}
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction: a Dockerfile must start with FROM", name)
	}

	// The global scope: predefined ARGs, then the ARGs before the first FROM.
	consumed := map[string]bool{}
	global := &scope{args: map[string]*string{}}
	for k, v := range predefinedArgs() {
		v := v
		global.args[k] = &v
	}
	for i, a := range metaArgs {
		for _, kv := range a.Args {
			k := kv.Key
			if !validArgName(k) {
				return nil, lineError(name, metaLines[i], "ARG %s: invalid name", k)
			}
			var val *string
			if kv.Value != nil {
				x, _, err := lex.ProcessWord(*kv.Value, global.vars(nil))
				if err != nil {
					return nil, lineError(name, metaLines[i], "ARG %s: %v", k, err)
				}
				val = &x
			}
			if bv, ok := o.BuildArgs[k]; ok {
				bv := bv
				val = &bv
				consumed[k] = true
			}
			global.declare(k, val)
		}
	}

	// Pass 2: each stage's base, its name, and the stages it needs.
	stages := make([]*Stage, len(raws))
	byName := map[string]*Stage{}
	needs := make([][]int, len(raws))
	for i, r := range raws {
		line := r.lines[0]
		base, _, err := lex.ProcessWord(r.stage.BaseName, global.vars(nil))
		if err != nil {
			return nil, lineError(name, line, "FROM %s: %v", r.stage.BaseName, err)
		}
		if base == "" {
			return nil, lineError(name, line, "FROM %s: the base image name is empty", r.stage.BaseName)
		}
		if r.stage.Platform != "" {
			return nil, lineError(name, line, "FROM --platform is not supported: sbx builds for this machine's platform only")
		}
		st := &Stage{Index: i, Name: r.stage.Name, Line: line, Text: "FROM " + base}
		if st.Name != "" {
			st.Text += " AS " + st.Name
			if _, dup := byName[st.Name]; dup {
				return nil, lineError(name, line, "FROM %s: a stage named %q already exists", base, st.Name)
			}
		}
		if from, ok := byName[strings.ToLower(base)]; ok {
			st.From = from
			needs[i] = append(needs[i], from.Index)
		} else if base == "scratch" {
			st.Scratch = true
		} else {
			st.Image = base
		}
		for _, c := range r.cmds {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
				ref, _, err := lex.ProcessWord(cp.From, global.vars(nil))
				if err == nil {
					if s, ok := stageRef(ref, byName, stages[:i]); ok {
						needs[i] = append(needs[i], s.Index)
					}
				}
			}
		}
		stages[i] = st
		if st.Name != "" {
			byName[st.Name] = st
		}
	}
	target := len(stages) - 1
	if o.Target != "" {
		s, ok := byName[strings.ToLower(o.Target)]
		if !ok {
			return nil, fmt.Errorf("--target %s: %s has no stage named %q", o.Target, name, o.Target)
		}
		target = s.Index
	}
	needed := map[int]bool{}
	var mark func(int)
	mark = func(i int) {
		if needed[i] {
			return
		}
		needed[i] = true
		for _, d := range needs[i] {
			mark(d)
		}
	}
	mark(target)

	// Pass 3: expand and check every instruction of the needed stages.
	plan := &Plan{}
	for i, r := range raws {
		if !needed[i] || i > target {
			continue
		}
		st := stages[i]
		if err := planStage(st, r.cmds, r.lines[1:], stages[:i], byName, global, o, name, lex, consumed); err != nil {
			return nil, err
		}
		plan.Stages = append(plan.Stages, st)
	}
	for k := range o.BuildArgs {
		if !consumed[k] && !proxyArgs[k] {
			plan.Unused = append(plan.Unused, k)
		}
	}
	sort.Strings(plan.Unused)
	return plan, nil
}

// stageRef resolves COPY --from's value to an earlier stage, by name or index.
func stageRef(ref string, byName map[string]*Stage, earlier []*Stage) (*Stage, bool) {
	if s, ok := byName[strings.ToLower(ref)]; ok && s.Index < len(earlier) {
		return s, true
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < len(earlier) {
		return earlier[n], true
	}
	return nil, false
}

func cloneConfig(c image.ContainerConfig) image.ContainerConfig {
	out := c
	out.Env = append([]string(nil), c.Env...)
	out.Cmd = append([]string(nil), c.Cmd...)
	out.Entrypoint = append([]string(nil), c.Entrypoint...)
	out.Shell = append([]string(nil), c.Shell...)
	if c.Cmd == nil {
		out.Cmd = nil
	}
	if c.Entrypoint == nil {
		out.Entrypoint = nil
	}
	if c.Shell == nil {
		out.Shell = nil
	}
	if c.Env == nil {
		out.Env = nil
	}
	out.ExposedPorts = cloneSet(c.ExposedPorts)
	out.Volumes = cloneSet(c.Volumes)
	if c.Labels != nil {
		out.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			out.Labels[k] = v
		}
	}
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = append([]string(nil), h.Test...)
		out.Healthcheck = &h
	}
	return out
}

func cloneSet(m map[string]struct{}) map[string]struct{} {
	if m == nil {
		return nil
	}
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func planStage(st *Stage, cmds []instructions.Command, lines []int, earlier []*Stage, byName map[string]*Stage,
	global *scope, o PlanOptions, name string, lex *shell.Lex, consumed map[string]bool) error {
	var cfg image.ContainerConfig
	switch {
	case st.From != nil:
		cfg = cloneConfig(st.From.Config)
	case st.Image != "":
		c, err := o.Resolve(st.Image)
		if errors.Is(err, ErrNoImage) {
			return lineError(name, st.Line, "FROM %s: no such image: load, import or pull it first", st.Image)
		}
		if err != nil {
			return lineError(name, st.Line, "FROM %s: %v", st.Image, err)
		}
		cfg = cloneConfig(c.Config)
	}
	if len(cfg.Env) == 0 && st.Scratch {
		cfg.Env = []string{"PATH=" + spec.DefaultPath}
	}
	sc := &scope{args: map[string]*string{}}
	cmdSet := false
	for i, c := range cmds {
		line := lines[i]
		fail := func(format string, a ...any) error {
			return lineError(name, line, "%s: %s", strings.ToUpper(c.Name()), fmt.Sprintf(format, a...))
		}
		vars := sc.vars(cfg.Env)
		expand := func(word string) (string, error) {
			v, _, err := lex.ProcessWord(word, vars)
			return v, err
		}
		if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if _, isRun := c.(*instructions.RunCommand); !isRun {
				if err := e.Expand(expand); err != nil {
					return fail("%v", err)
				}
			}
		}
		if e, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
			// Heredoc bodies (COPY <<EOF) are expanded unless the marker was quoted, with
			// quotes left as they are.
			raw := shell.NewLex('\\')
			raw.SkipProcessQuotes = true
			if err := e.ExpandRaw(func(word string) (string, error) {
				v, _, err := raw.ProcessWord(word, vars)
				return v, err
			}); err != nil {
				return fail("%v", err)
			}
		}
		step := &Step{Line: line, Before: cloneConfig(cfg)}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			var parts []string
			for _, kv := range c.Args {
				k := kv.Key
				if !validArgName(k) {
					return fail("invalid name %q", k)
				}
				val := kv.Value
				if bv, ok := o.BuildArgs[k]; ok {
					bv := bv
					val = &bv
					consumed[k] = true
				} else if val == nil {
					if gv, ok := global.args[k]; ok {
						val = gv
					}
				}
				sc.declare(k, val)
				if val != nil {
					parts = append(parts, k+"="+*val)
				} else {
					parts = append(parts, k)
				}
			}
			step.Text = "ARG " + strings.Join(parts, " ")
			step.KeyExtra = step.Text
		case *instructions.EnvCommand:
			var parts []string
			for _, kv := range c.Env {
				cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
				parts = append(parts, kv.Key+"="+kv.Value)
			}
			step.Text = "ENV " + strings.Join(parts, " ")
		case *instructions.LabelCommand:
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			var parts []string
			for _, kv := range c.Labels {
				cfg.Labels[kv.Key] = kv.Value
				parts = append(parts, strconv.Quote(kv.Key)+"="+strconv.Quote(kv.Value))
			}
			step.Text = "LABEL " + strings.Join(parts, " ")
		case *instructions.MaintainerCommand:
			st.Author = c.Maintainer
			step.Text = "MAINTAINER " + c.Maintainer
		case *instructions.WorkdirCommand:
			if c.Path == "" {
				return fail("the directory is empty")
			}
			wd := c.Path
			if !path.IsAbs(wd) {
				base := cfg.WorkingDir
				if base == "" {
					base = "/"
				}
				wd = path.Join(base, wd)
			}
			cfg.WorkingDir = path.Clean(wd)
			step.Kind = KindWorkdir
			step.Text = "WORKDIR " + cfg.WorkingDir
		case *instructions.UserCommand:
			if c.User == "" {
				return fail("the user is empty")
			}
			cfg.User = c.User
			step.Text = "USER " + c.User
		case *instructions.VolumeCommand:
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range c.Volumes {
				if v == "" {
					return fail("the volume path is empty")
				}
				cfg.Volumes[v] = struct{}{}
			}
			step.Text = "VOLUME " + jsonList(c.Volumes)
		case *instructions.StopSignalCommand:
			if _, err := spec.ParseSignal(c.Signal); err != nil {
				return fail("%v", err)
			}
			cfg.StopSignal = c.Signal
			step.Text = "STOPSIGNAL " + c.Signal
		case *instructions.ExposeCommand:
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			var ports []string
			for _, p := range c.Ports {
				words, err := lex.ProcessWords(p, vars)
				if err != nil {
					return fail("%v", err)
				}
				for _, w := range words {
					np, err := exposedPort(w)
					if err != nil {
						return fail("%v", err)
					}
					cfg.ExposedPorts[np] = struct{}{}
					ports = append(ports, np)
				}
			}
			step.Text = "EXPOSE " + strings.Join(ports, " ")
		case *instructions.CmdCommand:
			cfg.Cmd = commandLine(c.ShellDependantCmdLine, cfg.Shell)
			cmdSet = true
			step.Text = "CMD " + jsonList(cfg.Cmd)
		case *instructions.EntrypointCommand:
			cfg.Entrypoint = commandLine(c.ShellDependantCmdLine, cfg.Shell)
			if !cmdSet {
				// docker: an ENTRYPOINT drops a CMD inherited from the base.
				cfg.Cmd = nil
			}
			step.Text = "ENTRYPOINT " + jsonList(cfg.Entrypoint)
		case *instructions.ShellCommand:
			cfg.Shell = append([]string(nil), c.Shell...)
			step.Text = "SHELL " + jsonList(c.Shell)
		case *instructions.HealthCheckCommand:
			h := c.Health
			cfg.Healthcheck = &image.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
				StartPeriod: h.StartPeriod, Retries: h.Retries}
			step.Text = "HEALTHCHECK " + jsonList(h.Test)
		case *instructions.OnbuildCommand:
			return fail("ONBUILD is not supported by sbx build")
		case *instructions.RunCommand:
			if len(c.FlagsUsed) > 0 {
				return fail("RUN --%s is not supported by sbx build", c.FlagsUsed[0])
			}
			args, err := runArgs(c, cfg.Shell)
			if err != nil {
				return fail("%v", err)
			}
			step.Kind = KindRun
			step.Args = args
			runEnv := append([]string(nil), cfg.Env...)
			for _, kv := range sc.runArgs() {
				k, v, _ := strings.Cut(kv, "=")
				if !hasEnv(cfg.Env, k) {
					runEnv = append(runEnv, k+"="+v)
				}
			}
			for k, v := range o.BuildArgs {
				if proxyArgs[k] && !hasEnv(runEnv, k) {
					runEnv = append(runEnv, k+"="+v)
				}
			}
			step.Env = runEnv
			step.Text = "RUN " + strings.Join(args, " ")
			if len(c.Files) > 0 {
				step.Text = "RUN " + strings.Join(args[:len(args)-1], " ") + " " + c.CmdLine[0]
			}
			// The ARGs a command sees decide its result as much as its text does.
			step.KeyExtra = strings.Join(sc.runArgs(), "\n")
		case *instructions.CopyCommand:
			if c.Parents || len(c.ExcludePatterns) > 0 {
				return fail("--parents and --exclude are not supported by sbx build")
			}
			step.Kind = KindCopy
			if c.From != "" {
				if s, ok := stageRef(c.From, byName, earlier); ok {
					step.FromStage = s
				} else if o.Resolve != nil {
					if _, err := o.Resolve(c.From); err != nil {
						return fail("--from=%s: no stage or image named %s", c.From, c.From)
					}
					step.FromImage = c.From
				}
			}
			if err := planCopy(step, c.SourcesAndDest, c.Chown, c.Chmod, cfg.WorkingDir, step.FromStage == nil && step.FromImage == ""); err != nil {
				return fail("%v", err)
			}
			step.Text = "COPY " + copyFlags(c.From, c.Chown, c.Chmod) + strings.Join(append(append([]string(nil), c.SourcePaths...), c.DestPath), " ")
		case *instructions.AddCommand:
			if c.KeepGitDir != nil || c.Unpack != nil || len(c.ExcludePatterns) > 0 {
				return fail("--keep-git-dir, --unpack and --exclude are not supported by sbx build")
			}
			step.Kind = KindAdd
			step.Checksum = c.Checksum
			if c.Checksum != "" {
				if !strings.HasPrefix(c.Checksum, "sha256:") || len(c.Checksum) != 71 {
					return fail("--checksum %s: expected sha256:<64 hex digits>", c.Checksum)
				}
			}
			if err := planCopy(step, c.SourcesAndDest, c.Chown, c.Chmod, cfg.WorkingDir, true); err != nil {
				return fail("%v", err)
			}
			flags := copyFlags("", c.Chown, c.Chmod)
			if c.Checksum != "" {
				flags = "--checksum=" + c.Checksum + " " + flags
			}
			step.Text = "ADD " + flags + strings.Join(append(append([]string(nil), c.SourcePaths...), c.DestPath), " ")
		default:
			return fail("not supported by sbx build")
		}
		step.Config = cloneConfig(cfg)
		st.Steps = append(st.Steps, step)
	}
	st.Config = cfg
	return nil
}

func hasEnv(env []string, k string) bool {
	for _, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			return true
		}
	}
	return false
}

func copyFlags(from, chown, chmod string) string {
	s := ""
	if from != "" {
		s += "--from=" + from + " "
	}
	if chown != "" {
		s += "--chown=" + chown + " "
	}
	if chmod != "" {
		s += "--chmod=" + chmod + " "
	}
	return s
}

// planCopy checks COPY/ADD's sources and destination. Local sources must stay inside the
// context: "../x" is refused here, before anything is built.
func planCopy(step *Step, sd instructions.SourcesAndDest, chown, chmod, workdir string, local bool) error {
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("--chmod=%s: expected an octal mode", chmod)
		}
		step.Chmod = uint32(m)
	}
	step.Chown = chown
	for _, src := range sd.SourcePaths {
		if src == "" {
			return fmt.Errorf("a source path is empty")
		}
		if isURL(src) {
			if step.Kind != KindAdd {
				return fmt.Errorf("%s: COPY cannot fetch URLs (ADD can)", src)
			}
		} else if local && outsideContext(src) {
			return fmt.Errorf("%s: forbidden path outside the build context", src)
		}
		step.Sources = append(step.Sources, src)
	}
	step.Heredocs = sd.SourceContents
	dest := sd.DestPath
	if dest == "" {
		return fmt.Errorf("the destination is empty")
	}
	step.DestDir = strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.") ||
		len(sd.SourcePaths)+len(sd.SourceContents) > 1
	if !path.IsAbs(dest) {
		base := workdir
		if base == "" {
			base = "/"
		}
		dest = path.Join(base, dest)
	}
	step.Dest = path.Clean(dest)
	return nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// outsideContext reports whether a source path climbs out of the context directory.
func outsideContext(src string) bool {
	c := path.Clean(src)
	return c == ".." || strings.HasPrefix(c, "../")
}

// commandLine is CMD/ENTRYPOINT's value: exec form as is, shell form under the shell.
func commandLine(c instructions.ShellDependantCmdLine, sh []string) []string {
	if !c.PrependShell {
		return append([]string{}, c.CmdLine...)
	}
	if len(sh) == 0 {
		sh = defaultShell
	}
	return append(append([]string{}, sh...), strings.Join(c.CmdLine, " "))
}

// runArgs is RUN's command. A shell-form RUN with heredocs hands the shell the command
// line and the heredoc bodies together: the shell itself reads them as here-documents,
// with its own rules for quoting and <<-.
func runArgs(c *instructions.RunCommand, sh []string) ([]string, error) {
	if len(c.CmdLine) == 0 {
		return nil, fmt.Errorf("no command given")
	}
	if !c.PrependShell {
		if len(c.Files) > 0 {
			return nil, fmt.Errorf("heredocs need the shell form")
		}
		return append([]string{}, c.CmdLine...), nil
	}
	if len(sh) == 0 {
		sh = defaultShell
	}
	script := strings.Join(c.CmdLine, " ")
	if len(c.Files) == 1 && strings.HasPrefix(script, "<<") && !strings.ContainsAny(strings.TrimSpace(script), " \t") {
		// `RUN <<EOF` alone: the heredoc is the script.
		return append(append([]string{}, sh...), c.Files[0].Data), nil
	}
	for _, f := range c.Files {
		body := f.Data
		if !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		script += "\n" + body + f.Name
	}
	if len(c.Files) > 0 {
		script += "\n"
	}
	return append(append([]string{}, sh...), script), nil
}

func exposedPort(p string) (string, error) {
	port, proto, hasProto := strings.Cut(p, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return "", fmt.Errorf("invalid protocol in %q: use tcp, udp or sctp", p)
	}
	nums := strings.Split(port, "-")
	if len(nums) > 2 {
		return "", fmt.Errorf("invalid port %q", p)
	}
	for _, n := range nums {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 || v > 65535 {
			return "", fmt.Errorf("invalid port %q", p)
		}
	}
	return port + "/" + proto, nil
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
