package build

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sbx-dev/sbx/image"
)

// images is the set of local images the plans below may use as bases.
func images(ref string) (*image.Config, error) {
	switch ref {
	case "busybox", "centos:6":
		return &image.Config{Config: image.ContainerConfig{
			Env: []string{"PATH=/bin", "BASEVAR=base"},
			Cmd: []string{"sh"},
		}}, nil
	}
	return nil, ErrNoImage
}

func plan(t *testing.T, dockerfile string, args map[string]string, target string) (*Plan, error) {
	t.Helper()
	return MakePlan(PlanOptions{Dockerfile: []byte(dockerfile), BuildArgs: args, Target: target, Resolve: images})
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		args             map[string]string
		target           string
		want             string
	}{
		{"unknown instruction", "FROM busybox\nRUN true\nFROBNICATE x\n", nil, "", "Dockerfile:3: unknown instruction: FROBNICATE"},
		{"missing FROM", "ARG A=1\nRUN true\n", nil, "", "Dockerfile:2: RUN before FROM"},
		{"only ARG", "ARG A=1\n", nil, "", "Dockerfile: no FROM instruction"},
		{"empty", "# nothing\n", nil, "", "Dockerfile: file with no instructions"},
		{"outside context", "FROM busybox\nCOPY ../x /x\n", nil, "", "Dockerfile:2: COPY: ../x: forbidden path outside the build context"},
		{"outside context, deeper", "FROM busybox\nCOPY a/../../x /x\n", nil, "", "forbidden path outside the build context"},
		{"unknown stage", "FROM busybox\nCOPY --from=nope /a /a\n", nil, "", "Dockerfile:2: COPY: --from=nope: no stage or image named nope"},
		{"later stage is not a source", "FROM busybox AS first\nCOPY --from=later /a /a\nFROM busybox AS later\n", nil, "first", "no stage or image named later"},
		{"unknown target", "FROM busybox AS a\n", nil, "nope", `--target nope: Dockerfile has no stage named "nope"`},
		{"unknown base", "FROM nosuch:1\n", nil, "", "Dockerfile:1: FROM nosuch:1: no such image"},
		{"duplicate stage", "FROM busybox AS a\nFROM busybox AS a\n", nil, "", `Dockerfile:2: FROM busybox: a stage named "a" already exists`},
		{"bad signal", "FROM busybox\nSTOPSIGNAL SIGNOPE\n", nil, "", "Dockerfile:2: STOPSIGNAL:"},
		{"bad port", "FROM busybox\nEXPOSE 99999\n", nil, "", `Dockerfile:2: EXPOSE: invalid port "99999"`},
		{"bad protocol", "FROM busybox\nEXPOSE 80/xtp\n", nil, "", "invalid protocol"},
		{"bad chmod", "FROM busybox\nCOPY --chmod=999 a /a\n", nil, "", "Dockerfile:2: COPY: --chmod=999: expected an octal mode"},
		{"COPY of a URL", "FROM busybox\nCOPY http://example.com/a /a\n", nil, "", "COPY cannot fetch URLs"},
		{"RUN --mount", "FROM busybox\nRUN --mount=type=cache,target=/c true\n", nil, "", "Dockerfile:2: RUN: RUN --mount is not supported"},
		{"ONBUILD", "FROM busybox\nONBUILD RUN true\n", nil, "", "ONBUILD is not supported"},
		{"bad checksum", "FROM busybox\nADD --checksum=md5:1 http://x/a /a\n", nil, "", "expected sha256:"},
		{"platform", "FROM --platform=linux/arm64 busybox\n", nil, "", "FROM --platform is not supported"},
		{"bad stage name", "FROM busybox AS 1abc\n", nil, "", "Dockerfile:1: FROM: invalid name for build stage"},
		{"unterminated variable", "FROM busybox\nENV A=${B\n", nil, "", "Dockerfile:2: ENV:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan(t, tt.dockerfile, tt.args, tt.target)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is more than one line", err)
			}
		})
	}
}

func TestPlanExpansion(t *testing.T) {
	p, err := plan(t, `ARG TAGVERSION=5
FROM centos:${TAGVERSION}
ARG TAGVERSION
ARG WHO=world
ENV GREETING="hello $WHO" HOMEDIR=/home/$WHO
ENV ECHO=$GREETING
WORKDIR $HOMEDIR
WORKDIR sub
USER ${WHO}:users
LABEL "who"=$WHO base=$BASEVAR
EXPOSE 80 53/udp 8000-8001
VOLUME /data $HOMEDIR/v
COPY a.txt rel/
RUN echo $WHO
CMD echo $GREETING
`, map[string]string{"TAGVERSION": "6", "WHO": "you", "UNUSED": "x", "HTTP_PROXY": "http://proxy"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != 1 || p.Stages[0].Image != "centos:6" {
		t.Fatalf("stages %+v, want one from centos:6", p.Stages)
	}
	if !reflect.DeepEqual(p.Unused, []string{"UNUSED"}) {
		t.Errorf("unused %v, want [UNUSED] (proxy args need no ARG)", p.Unused)
	}
	st := p.Stages[0]
	c := st.Config
	wantEnv := []string{"PATH=/bin", "BASEVAR=base", "GREETING=hello you", "HOMEDIR=/home/you", "ECHO=hello you"}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("env %q, want %q", c.Env, wantEnv)
	}
	if c.WorkingDir != "/home/you/sub" || c.User != "you:users" {
		t.Errorf("workdir %q user %q", c.WorkingDir, c.User)
	}
	if !reflect.DeepEqual(c.Labels, map[string]string{"who": "you", "base": "base"}) {
		t.Errorf("labels %v", c.Labels)
	}
	for _, port := range []string{"80/tcp", "53/udp", "8000-8001/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("exposed ports %v lack %s", c.ExposedPorts, port)
		}
	}
	if _, ok := c.Volumes["/home/you/v"]; !ok {
		t.Errorf("volumes %v", c.Volumes)
	}
	if !reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo $GREETING"}) {
		t.Errorf("cmd %q", c.Cmd)
	}
	var run, cp *Step
	for _, s := range st.Steps {
		switch s.Kind {
		case KindRun:
			run = s
		case KindCopy:
			cp = s
		}
	}
	if cp.Dest != "/home/you/sub/rel" || !cp.DestDir {
		t.Errorf("COPY dest %q dir %v, want /home/you/sub/rel, a directory", cp.Dest, cp.DestDir)
	}
	// RUN's shell expands itself; it sees the ARGs (not kept in the image) and proxies.
	if !reflect.DeepEqual(run.Args, []string{"/bin/sh", "-c", "echo $WHO"}) {
		t.Errorf("run args %q", run.Args)
	}
	for _, want := range []string{"WHO=you", "TAGVERSION=6", "HTTP_PROXY=http://proxy", "GREETING=hello you"} {
		if !contains(run.Env, want) {
			t.Errorf("run env %q lacks %s", run.Env, want)
		}
	}
	if !strings.Contains(run.KeyExtra, "WHO=you") {
		t.Errorf("run key %q does not depend on the ARG values", run.KeyExtra)
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e, "WHO=") {
			t.Errorf("ARG WHO leaked into the image env: %q", c.Env)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestPlanStages(t *testing.T) {
	df := `FROM busybox AS base
ENV STAGE=base
FROM base AS build
RUN make
FROM busybox AS unrelated
RUN never
FROM scratch
COPY --from=build /out /
COPY --from=0 /etc/passwd /etc/
ENTRYPOINT ["/app"]
`
	p, err := plan(t, df, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Stages {
		names = append(names, s.Name)
	}
	// The unrelated stage is not needed, so not planned.
	if !reflect.DeepEqual(names, []string{"base", "build", ""}) {
		t.Fatalf("stages %q", names)
	}
	if p.Stages[1].From != p.Stages[0] || !contains(p.Stages[1].Config.Env, "STAGE=base") {
		t.Errorf("stage build does not start from stage base: %+v", p.Stages[1])
	}
	last := p.Stages[2]
	if !last.Scratch || last.Steps[0].FromStage != p.Stages[1] || last.Steps[1].FromStage != p.Stages[0] {
		t.Errorf("final stage sources wrong: %+v", last)
	}
	// ENTRYPOINT in a stage without CMD drops a CMD inherited from the base.
	if last.Config.Cmd != nil {
		t.Errorf("cmd %q, want none", last.Config.Cmd)
	}

	p, err = plan(t, df, nil, "build")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stages) != 2 || p.Stages[1].Name != "build" {
		t.Errorf("--target build planned %d stages", len(p.Stages))
	}
}

func TestEntrypointKeepsOwnCmd(t *testing.T) {
	p, err := plan(t, "FROM busybox\nCMD [\"x\"]\nENTRYPOINT [\"/e\"]\n", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Stages[0].Config; !reflect.DeepEqual(c.Cmd, []string{"x"}) || !reflect.DeepEqual(c.Entrypoint, []string{"/e"}) {
		t.Errorf("cmd %q entrypoint %q", c.Cmd, c.Entrypoint)
	}
}

func TestRunArgs(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		want             []string
	}{
		{"shell form", "RUN echo hi", []string{"/bin/sh", "-c", "echo hi"}},
		{"exec form", `RUN ["echo", "hi"]`, []string{"echo", "hi"}},
		{"continuation", "RUN echo a \\\n  b", []string{"/bin/sh", "-c", "echo a   b"}},
		{"heredoc alone", "RUN <<EOF\necho one\necho two\nEOF", []string{"/bin/sh", "-c", "echo one\necho two\n"}},
		{"heredoc as input", "RUN cat <<EOF > /f\nline\nEOF", []string{"/bin/sh", "-c", "cat <<EOF > /f\nline\nEOF\n"}},
		{"custom shell", "SHELL [\"/bin/bash\", \"-xc\"]\nRUN echo hi", []string{"/bin/bash", "-xc", "echo hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan(t, "FROM busybox\n"+tt.dockerfile+"\n", nil, "")
			if err != nil {
				t.Fatal(err)
			}
			steps := p.Stages[0].Steps
			got := steps[len(steps)-1].Args
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("args %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseBuildArgs(t *testing.T) {
	env := map[string]string{"FROMENV": "e"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{[]string{"A=1", "B=", "C=x=y"}, map[string]string{"A": "1", "B": "", "C": "x=y"}, false},
		{[]string{"FROMENV", "UNSET"}, map[string]string{"FROMENV": "e"}, false},
		{[]string{"=x"}, nil, true},
		{[]string{"A B=1"}, nil, true},
		{[]string{""}, nil, true},
	}
	for _, tt := range tests {
		got, err := ParseBuildArgs(tt.in, lookup)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestStepKeyChains(t *testing.T) {
	a := stepKey("parent", "RUN x", "")
	if a != stepKey("parent", "RUN x", "") {
		t.Fatal("the same step gives different keys")
	}
	for _, other := range []string{stepKey("other", "RUN x", ""), stepKey("parent", "RUN y", ""), stepKey("parent", "RUN x", "A=1")} {
		if other == a {
			t.Error("a different parent, text or extra gives the same key")
		}
	}
	// The separator keeps text and extra apart.
	if stepKey("p", "ab", "c") == stepKey("p", "a", "bc") {
		t.Error("keys collide across the text/extra boundary")
	}
}

func TestContextMatch(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.txt", "b.txt", "c.log", "keep.log", "sub/d.txt", "secret/key"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(f), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.log\n!keep.log\nsecret\n"), 0o644)
	ctx, err := openContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src     string
		want    []string
		wantErr string
	}{
		{"a.txt", []string{"a.txt"}, ""},
		{"/a.txt", []string{"a.txt"}, ""},
		{"*.txt", []string{"a.txt", "b.txt"}, ""},
		{"*.log", []string{"keep.log"}, ""},
		{"sub/*.txt", []string{"sub/d.txt"}, ""},
		{".", []string{"."}, ""},
		{"c.log", nil, "c.log: no such file or directory in the build context"},
		{"secret/key", nil, "no such file"},
		{"*.none", nil, "*.none: no files match"},
	}
	for _, tt := range tests {
		got, err := ctx.match(tt.src)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.src, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q %v, want %q", tt.src, got, err, tt.want)
		}
	}
	if !ctx.excluded("secret/key") || ctx.excluded("keep.log") || !ctx.excluded("c.log") {
		t.Error(".dockerignore exclusions wrong")
	}
}
