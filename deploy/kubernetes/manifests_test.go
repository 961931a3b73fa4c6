// Package kubernetes holds the Kubernetes manifests of `handset load`; its
// test decodes them with the k8s.io/api types so a typo fails CI.
package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func loadJob(t *testing.T) *batchv1.Job {
	t.Helper()
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	// Strict: unknown or misspelt fields are errors, as kubectl --validate=strict.
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		t.Fatalf("job.yaml: %v", err)
	}
	return &job
}

func TestManifestsDecode(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s doc %d: %v", f, i, err)
			}
			var obj any
			switch meta.APIVersion + "/" + meta.Kind {
			case "batch/v1/Job":
				obj = &batchv1.Job{}
			case "v1/Secret":
				obj = &corev1.Secret{}
			case "v1/ConfigMap":
				obj = &corev1.ConfigMap{}
			default:
				t.Fatalf("%s doc %d: unexpected %s %s", f, i, meta.APIVersion, meta.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s doc %d: %v", f, i, err)
			}
		}
	}
}

// TestIndexedJob checks the contract between the Job and handset load: one
// pod per shard, --shard i/n with n = completions, the completion index
// wired in, metrics port annotated and exposed, no retries of a verdict.
func TestIndexedJob(t *testing.T) {
	job := loadJob(t)
	s := job.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode %v, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %v parallelism %v: want equal", s.Completions, s.Parallelism)
	}
	n := int(*s.Completions)
	if s.BackoffLimit == nil || *s.BackoffLimit != 0 {
		t.Errorf("backoffLimit %v, want 0 (exit 1 is a verdict)", s.BackoffLimit)
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	flags := map[string]string{}
	if len(c.Args) == 0 || c.Args[0] != "load" {
		t.Fatalf("args %v: want the load command", c.Args)
	}
	for _, a := range c.Args[1:] {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			t.Errorf("arg %q: want --flag=value", a)
		}
		flags[k] = v
	}
	if want := "$(JOB_COMPLETION_INDEX)/" + strconv.Itoa(n); flags["shard"] != want {
		t.Errorf("--shard=%q, want %q", flags["shard"], want)
	}
	var envIndex bool
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			envIndex = true
		}
	}
	if !envIndex {
		t.Error("JOB_COMPLETION_INDEX not wired from the completion-index annotation")
	}
	ann := s.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v", ann)
	}
	port := ann["prometheus.io/port"]
	if !strings.HasSuffix(flags["metrics"], ":"+port) {
		t.Errorf("--metrics=%q does not listen on the annotated port %s", flags["metrics"], port)
	}
	var exposed bool
	for _, p := range c.Ports {
		exposed = exposed || strconv.Itoa(int(p.ContainerPort)) == port
	}
	if !exposed {
		t.Errorf("port %s not a containerPort", port)
	}
	for _, need := range []string{"target", "users", "handsets", "rate", "duration", "out", "pass"} {
		if flags[need] == "" {
			t.Errorf("--%s missing", need)
		}
	}
	if len(s.Template.Labels) == 0 {
		t.Error("pod template has no labels")
	}
}
