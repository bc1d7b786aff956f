// Command kube-controller-manager is the release's own (k8s.io/kubernetes
// cmd/kube-controller-manager/controller-manager.go) with the Job controller's two delays
// set as Kubernetes' own integration tests set them (test/integration/job/job_test.go,
// fastSyncJobBatchPeriod and fastPodFailureBackoff): a Job's sync after a pod update
// waits 100 ms instead of 1 s, a failed pod's retry 100 ms instead of 10 s. Both are
// vars the controller exports for tests; every hook Job of the suite paid them.
package main

import (
	"os"
	"time"
	_ "time/tzdata" // for CronJob Time Zone support

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugin
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

func main() {
	jobcontroller.SyncJobBatchPeriod = 100 * time.Millisecond
	jobcontroller.DefaultJobPodFailureBackOff = 100 * time.Millisecond
	command := app.NewControllerManagerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
