// Command render-profile shows where a chart's render time goes, inside Helm's own engine
// (helm.sh/helm/v4 pkg/engine, the version the rig's helm4 is).
//
// It renders the chart with a values file as `helm template` does (the same values
// coalescing and schema check, then engine.Render), and reports:
//   - the time of each template file and each named template (`define`), with and without
//     what it includes, and how often it ran. Each define and file is wrapped in two
//     template functions that read the clock; the wrapped chart must render byte for byte
//     as the plain one, or the command fails (so a wrapping that changes meaning shows).
//   - the template functions (toYaml, dict, fromJson, ...) that the CPU samples of the plain
//     render fall in, from a Go CPU profile, and the garbage collector's share.
//
// Helm's --debug timings give one figure per release; emptying templates one at a time (as
// benchmarks/render.py --knockouts does) moves work between templates that share a cached
// model. This reads each helper's own cost.
//
// Usage: render-profile -chart DIR -f VALUES [-runs N] [-top N] [-cpuprofile FILE]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/google/pprof/profile"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// clock keeps, for the render under way, the stack of open templates and what each row
// has cost so far.
type clock struct {
	open  []frame
	own   map[string]time.Duration
	total map[string]time.Duration
	calls map[string]int
}

type frame struct {
	name     string
	start    time.Time
	children time.Duration
}

func newClock() *clock {
	return &clock{own: map[string]time.Duration{}, total: map[string]time.Duration{}, calls: map[string]int{}}
}

func (c *clock) enter(name string) string {
	c.open = append(c.open, frame{name: name, start: time.Now()})
	return ""
}

func (c *clock) leave() string {
	last := len(c.open) - 1
	f := c.open[last]
	c.open = c.open[:last]
	spent := time.Since(f.start)
	c.own[f.name] += spent - f.children
	c.total[f.name] += spent
	c.calls[f.name]++
	if last > 0 {
		c.open[last-1].children += spent
	}
	return ""
}

// wrap rewrites one template file so that each of its defines, and the file itself, opens
// with {{profileEnter NAME}} and closes with {{profileLeave}}. Comments go; trimmed
// whitespace is already gone from the parsed text, so the rest prints back as it ran.
func wrap(name string, text string) (string, error) {
	tree := parse.New(name)
	tree.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := tree.Parse(text, "", "", trees); err != nil {
		return "", err
	}
	var out strings.Builder
	names := make([]string, 0, len(trees))
	for n := range trees {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		body := trees[n].Root.String()
		label := n
		if n == name {
			label = "file " + n
			fmt.Fprintf(&out, "{{profileEnter %s}}%s{{profileLeave}}", strconv.Quote(label), body)
			continue
		}
		fmt.Fprintf(&out, "{{define %s}}{{profileEnter %s}}%s{{profileLeave}}{{end}}",
			strconv.Quote(n), strconv.Quote(label), body)
	}
	return out.String(), nil
}

func renderValues(ch *chart.Chart, valuesFile string) (common.Values, error) {
	values, err := common.ReadValuesFile(valuesFile)
	if err != nil {
		return nil, err
	}
	options := common.ReleaseOptions{Name: "tenant-a", Namespace: "test", IsInstall: true}
	return util.ToRenderValues(ch, values, options, common.DefaultCapabilities)
}

// timing is what one render spent on the values (read, coalesced, checked against the
// schema) and in the engine (parsing every template, then running them).
type timing struct{ values, engine time.Duration }

func (t *timing) add(o timing) { t.values += o.values; t.engine += o.engine }

func render(ch *chart.Chart, valuesFile string, funcs template.FuncMap) (map[string]string, timing, error) {
	start := time.Now()
	values, err := renderValues(ch, valuesFile)
	if err != nil {
		return nil, timing{}, err
	}
	valued := time.Now()
	out, err := engine.Engine{CustomTemplateFuncs: funcs}.Render(ch, values)
	return out, timing{values: valued.Sub(start), engine: time.Since(valued)}, err
}

// templateFunction names where a CPU sample of the plain render was spent: the template
// function (toYaml, dict, ...) that text/template called through reflect (include and tpl
// only run more templates, so the sample goes on down), reflect's own work of calling one,
// text/template walking the templates, Helm's values and schema, or the garbage collector's
// background workers.
func templateFunction(sample *profile.Sample) string {
	frames := []string{}
	for _, location := range sample.Location {
		for _, line := range location.Line {
			frames = append(frames, line.Function.Name)
		}
	}
	// frames run from the leaf to the root; read them from the root
	called, anyTemplate := "", false
	for i := len(frames) - 1; i > 0; i-- {
		fn := frames[i]
		switch {
		case strings.HasPrefix(fn, "runtime.gcBgMarkWorker"):
			return "(garbage collector)"
		case strings.HasPrefix(fn, "text/template."):
			anyTemplate = true
		case strings.HasPrefix(fn, "reflect.Value.call") && anyTemplate:
			next := frames[i-1]
			if strings.Contains(next, "includeFun") || strings.Contains(next, "tplFun") {
				continue
			}
			called = next
			if strings.HasPrefix(next, "reflect.") || strings.HasPrefix(next, "runtime.") || !strings.Contains(next, ".") ||
				strings.HasPrefix(next, "internal/") {
				called = "(reflect: passing arguments to template functions)"
			}
		}
	}
	switch {
	case called != "":
		return called
	case anyTemplate:
		return "(text/template: walking actions, fields, variables)"
	}
	for _, fn := range frames {
		if strings.Contains(fn, "ToRenderValues") || strings.Contains(fn, "jsonschema") {
			return "(Helm: values and the schema)"
		}
	}
	return "(Helm: loading, parsing templates, output; Go runtime)"
}

// shortFunction turns helm.sh/helm/v4/pkg/engine.toYAML into engine.toYAML.
func shortFunction(fn string) string {
	if strings.HasPrefix(fn, "(") {
		return fn
	}
	base := path.Base(fn)
	if i := strings.Index(base, ".func"); i > 0 && strings.Count(base, ".") > 2 {
		base = base[:i]
	}
	return base
}

func ms(d time.Duration, runs int) float64 {
	return float64(d.Microseconds()) / 1000 / float64(runs)
}

func main() {
	chartDir := flag.String("chart", ".", "the chart's directory")
	valuesFile := flag.String("f", "", "the values file")
	runs := flag.Int("runs", 5, "renders to average over (after one warm-up)")
	top := flag.Int("top", 30, "rows of each table")
	cpuFile := flag.String("cpuprofile", "", "also keep the Go CPU profile of the plain renders here")
	flag.Parse()
	if err := run(*chartDir, *valuesFile, *runs, *top, *cpuFile); err != nil {
		fmt.Fprintln(os.Stderr, "render-profile:", err)
		os.Exit(1)
	}
}

func run(chartDir, valuesFile string, runs, top int, cpuFile string) error {
	if valuesFile == "" || runs < 1 {
		return fmt.Errorf("give -f VALUES and -runs of at least 1")
	}
	ch, err := loader.Load(chartDir)
	if err != nil {
		return err
	}
	plain, _, err := render(ch, valuesFile, nil)
	if err != nil {
		return err
	}

	// the plain renders, under the CPU profiler
	var cpu bytes.Buffer
	runtime.GC()
	if err := pprof.StartCPUProfile(&cpu); err != nil {
		return err
	}
	var plainTime timing
	for range runs {
		_, took, err := render(ch, valuesFile, nil)
		if err != nil {
			return err
		}
		plainTime.add(took)
	}
	pprof.StopCPUProfile()
	if cpuFile != "" {
		if err := os.WriteFile(cpuFile, cpu.Bytes(), 0o644); err != nil {
			return err
		}
	}

	// the wrapped renders
	wrapped := *ch
	wrapped.Templates = nil
	for _, file := range ch.Templates {
		text, err := wrap(file.Name, string(file.Data))
		if err != nil {
			return fmt.Errorf("%s: %w", file.Name, err)
		}
		copied := *file
		copied.Data = []byte(text)
		wrapped.Templates = append(wrapped.Templates, &copied)
	}
	c := newClock()
	funcs := template.FuncMap{"profileEnter": c.enter, "profileLeave": c.leave}
	out, _, err := render(&wrapped, valuesFile, funcs)
	if err != nil {
		return fmt.Errorf("the wrapped chart: %w", err)
	}
	for name, text := range plain {
		if out[name] != text {
			return fmt.Errorf("the wrapped chart renders %s differently: wrapping changed a template's meaning", name)
		}
	}
	*c = *newClock()
	var wrappedTime timing
	for range runs {
		_, took, err := render(&wrapped, valuesFile, funcs)
		if err != nil {
			return err
		}
		wrappedTime.add(took)
	}

	var files time.Duration
	for name, d := range c.total {
		if strings.HasPrefix(name, "file ") {
			files += d
		}
	}
	fmt.Printf("render of %s with %s, Helm %s engine, mean of %d renders\n", chartDir, valuesFile, helmVersion(), runs)
	fmt.Printf("  plain render %.1f ms: values and schema %.1f ms, engine %.1f ms\n",
		ms(plainTime.values+plainTime.engine, runs), ms(plainTime.values, runs), ms(plainTime.engine, runs))
	fmt.Printf("  wrapped render's engine %.1f ms: running templates %.1f ms, the rest (parsing them) %.1f ms\n",
		ms(wrappedTime.engine, runs), ms(files, runs), ms(wrappedTime.engine-files, runs))
	fmt.Println("  (it reads the clock twice per template run; the rows below add up to its templates' time)")

	names := make([]string, 0, len(c.own))
	for name := range c.own {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return int(c.own[b] - c.own[a]) })
	fmt.Printf("\nnamed templates and files by their own time (without what they include), top %d:\n", top)
	fmt.Printf("  %-58s %8s %8s %9s %6s\n", "template", "calls", "own ms", "with ms", "own %")
	for _, name := range names[:min(top, len(names))] {
		fmt.Printf("  %-58s %8d %8.1f %9.1f %5.1f%%\n", name, c.calls[name]/runs, ms(c.own[name], runs),
			ms(c.total[name], runs), float64(c.own[name])/float64(files)*100)
	}

	parsed, err := profile.Parse(&cpu)
	if err != nil {
		return err
	}
	byFunction := map[string]int64{}
	var all int64
	for _, sample := range parsed.Sample {
		value := sample.Value[len(sample.Value)-1]
		all += value
		byFunction[templateFunction(sample)] += value
	}
	functions := make([]string, 0, len(byFunction))
	for fn := range byFunction {
		functions = append(functions, fn)
	}
	slices.SortFunc(functions, func(a, b string) int { return int(byFunction[b] - byFunction[a]) })
	fmt.Printf("\nCPU of the plain renders (%.0f ms per render, all threads) by the template function it ran in:\n",
		float64(all)/1e6/float64(runs))
	for _, fn := range functions[:min(top, len(functions))] {
		label := shortFunction(fn)
		fmt.Printf("  %-58s %8.1f ms %5.1f%%\n", label, float64(byFunction[fn])/1e6/float64(runs),
			float64(byFunction[fn])/float64(all)*100)
	}
	return nil
}

// helmVersion reads the version of helm.sh/helm/v4 this binary was built with.
func helmVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "helm.sh/helm/v4" {
				return dep.Version
			}
		}
	}
	return "(unknown)"
}
