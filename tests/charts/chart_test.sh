#!/usr/bin/env bash
# The Helm chart and the kustomize install against the test control plane
# (ctest label "controlplane"):
#
#   tests/charts/chart_test.sh BUILD_DIR
#
#   - helm lint --strict, with the defaults and with every optional part on;
#   - values that break values.schema.json are refused, naming the value;
#   - helm template output passes kubectl apply --dry-run=server, with the
#     prometheus-operator's CRDs (generated from its API types) installed;
#   - helm install creates exactly the expected Deployment, RBAC and
#     Service; the operator, run with the chart's ServiceAccount token,
#     submits an application with no permission refused, and the account
#     can do nothing more than the README says;
#   - helm upgrade to watchNamespaces swaps the ClusterRole for Roles;
#   - helm uninstall leaves only the CRD;
#   - manifests/ (kubectl apply -k) is the chart's default rendering, and
#     applies; every example in manifests/examples applies.
set -euo pipefail

build=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
chart=$repo/charts/ember-operator
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
log() { echo "--- $*" >&2; }

helm=$(bash "$repo/hack/helm.sh" path) || fail "helm is not built: run hack/helm.sh build (make test does)"
monitoring_crds=$(bash "$repo/hack/monitoring-crds.sh" path) ||
  fail "the prometheus-operator CRDs are not generated: run hack/monitoring-crds.sh build (make test does)"
[[ -x $build/bin/ember-operator ]] || fail "$build/bin/ember-operator is not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/ember-chart.XXXXXX")
pids=()
started_controlplane=false
release=ember-operator
ns=ember-chart-test
jobs_ns=ember-chart-jobs
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n ${KUBECONFIG:-} ]]; then
    "$helm" uninstall "$release" -n "$ns" >/dev/null 2>&1 || true
    kubectl delete -k "$repo/manifests" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    kubectl delete namespace "$ns" "$jobs_ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  if $started_controlplane; then bash "$repo/hack/controlplane.sh" down >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data

all_optional=(--set serviceMonitor.enabled=true --set podMonitor.enabled=true --set prometheusRule.enabled=true
  --set grafanaDashboard.enabled=true --set replicas=2)

# The images the chart names by default are the ones make images tags.
app_version=$(sed -n 's/^appVersion: "\(.*\)"/\1/p' "$chart/Chart.yaml")
project_version=$(sed -n 's/^project(ember VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
[[ -n $app_version && $app_version == "$project_version" ]] ||
  fail "Chart.yaml's appVersion ($app_version) is not the project's version in CMakeLists.txt ($project_version)"

# --- lint and schema ---------------------------------------------------------
"$helm" lint --strict "$chart" >&2 || fail "helm lint --strict failed with the default values"
"$helm" lint --strict "$chart" "${all_optional[@]}" >&2 || fail "helm lint --strict failed with every optional part on"
"$helm" lint --strict "$chart" --set 'watchNamespaces={team-a,team-b}' >&2 || fail "helm lint --strict failed with watchNamespaces"

refused() { # EXPECTED_TEXT HELM_ARGS...
  local want=$1 out
  shift
  if out=$("$helm" template x "$chart" "$@" 2>&1); then
    fail "helm template accepted $*"
  fi
  grep -qF -- "$want" <<<"$out" || fail "helm template $* was refused, but without '$want': $out"
  log "refused $*: $(grep -m1 -F -- "$want" <<<"$out" | sed 's/^ *//')"
}
refused "at '/workers': minimum: got 0, want 1" --set workers=0
refused "logLevel" --set logLevel=loud
refused "nosuch" --set nosuch=1
refused "/metrics/port" --set metrics.port=70000
refused "/watchNamespaces" --set 'watchNamespaces={Not_A_Namespace}'
refused "leaseDuration" --set leaderElection.leaseDuration=soon
refused "replicas > 1 needs leaderElection.enabled" --set replicas=2 --set leaderElection.enabled=false
refused "serviceAccount.name is required" --set serviceAccount.create=false

# --- against the control plane -------------------------------------------------
if ! bash "$repo/hack/controlplane.sh" status >/dev/null 2>&1; then
  bash "$repo/hack/controlplane.sh" up >&2 || fail "the test control plane did not start"
  started_controlplane=true
fi
eval "$(bash "$repo/hack/controlplane.sh" env)"
kubectl apply --server-side -f "$monitoring_crds" >/dev/null || fail "could not apply the prometheus-operator CRDs"
kubectl wait --for condition=established --timeout=60s crd/servicemonitors.monitoring.coreos.com \
  crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
kubectl create namespace "$ns" >/dev/null
kubectl create namespace "$jobs_ns" >/dev/null

# The CRD first, as helm install does from crds/; dry runs need it present.
kubectl apply -f "$chart/crds/" >/dev/null
kubectl wait --for condition=established --timeout=60s crd/sparkapplications.ember.dev >/dev/null
dry_run() { # NAME HELM_ARGS...
  local name=$1
  shift
  "$helm" template "$release" "$chart" -n "$ns" "$@" >"$work/$name.yaml" || fail "helm template ($name) failed"
  kubectl apply --dry-run=server -f "$work/$name.yaml" >"$work/$name.out" 2>&1 ||
    { cat "$work/$name.out" >&2; fail "the API server refused helm template's output ($name)"; }
  log "dry-run=server ($name): $(wc -l <"$work/$name.out") objects accepted"
}
dry_run defaults
dry_run all-optional "${all_optional[@]}"
dry_run watch-namespaces --set "watchNamespaces={$jobs_ns}"
for kind in ServiceMonitor PodMonitor PrometheusRule ConfigMap; do
  grep -q "^kind: $kind\$" "$work/all-optional.yaml" || fail "every optional part on, but no $kind rendered"
done
# The dashboard and the alerts arrive whole.
grep -q 'EmberExecutorLossesRising' "$work/all-optional.yaml" || fail "the PrometheusRule lacks the alerts"
grep -q '"uid": "ember-overview"' "$work/all-optional.yaml" || fail "the dashboard ConfigMap lacks the dashboard"

# --- install -------------------------------------------------------------------
"$helm" install "$release" "$chart" -n "$ns" >"$work/install.out" 2>&1 ||
  { cat "$work/install.out" >&2; fail "helm install failed"; }
grep -q "kubectl apply -f manifests/examples/spark-pi.yaml" "$work/install.out" || fail "NOTES.txt did not print"
get() { kubectl get "$@" -o json; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

deploy=$(get -n "$ns" deployment "$release")
jq_py "
c=d['spec']['template']['spec']['containers'][0]
assert d['spec']['replicas']==1, d['spec']['replicas']
assert c['image']=='ember-operator:$app_version', c['image']
want=['--workers=16','--leader-elect=true','--leader-election-namespace=$ns','--leader-election-id=$release',
      '--lease-duration=15s','--renew-deadline=10s','--retry-period=2s','--executor-image=ember-executor:$app_version',
      '--metrics-port=8080','--health-port=8081','--log-level=info','--log-format=json']
assert c['args']==want, c['args']
sc=c['securityContext']
assert sc=={'allowPrivilegeEscalation':False,'readOnlyRootFilesystem':True,'capabilities':{'drop':['ALL']}}, sc
p=d['spec']['template']['spec']['securityContext']
assert p['runAsNonRoot'] and p['runAsUser']==65532 and p['seccompProfile']['type']=='RuntimeDefault', p
assert c['livenessProbe']['httpGet']=={'path':'/healthz','port':'health','scheme':'HTTP'}, c['livenessProbe']
assert c['readinessProbe']['httpGet']=={'path':'/readyz','port':'health','scheme':'HTTP'}, c['readinessProbe']
assert d['spec']['template']['metadata']['annotations']['prometheus.io/scrape']=='true'
assert d['spec']['template']['spec']['serviceAccountName']=='$release'
" <<<"$deploy" || fail "the Deployment is not as expected"
# The operator's rules, the same in the ClusterRole and in each Role.
operator_rules() {
  jq_py "
got=sorted((tuple(r['apiGroups']),tuple(r['resources']),tuple(r['verbs'])) for r in d['rules'])
want=sorted([(('ember.dev',),('sparkapplications',),('get','list','watch','delete')),
             (('ember.dev',),('sparkapplications/status',),('get','update','patch')),
             (('',),('pods',),('get','list','watch','create','delete')),
             (('',),('services','secrets'),('get','list','watch','create','delete')),
             (('',),('events',),('create','patch'))])
assert got==want, got
"
}
get clusterrole "$release" | operator_rules || fail "the ClusterRole's rules are not the documented ones"
get clusterrolebinding "$release" | jq_py "
assert d['roleRef']['name']=='$release'
assert d['subjects']==[{'kind':'ServiceAccount','name':'$release','namespace':'$ns'}], d['subjects']
" || fail "the ClusterRoleBinding is not as expected"
get -n "$ns" role "$release-leader-election" | jq_py "
assert d['rules']==[{'apiGroups':['coordination.k8s.io'],'resources':['leases'],'verbs':['get','create','update']}], d['rules']
" || fail "the leader-election Role is not as expected"
get -n "$ns" service "$release-metrics" | jq_py "
assert [(p['name'],p['port']) for p in d['spec']['ports']]==[('metrics',8080)], d['spec']['ports']
assert d['spec']['selector']=={'app.kubernetes.io/name':'ember-operator','app.kubernetes.io/instance':'$release'}, d['spec']['selector']
" || fail "the metrics Service is not as expected"
get -n "$ns" serviceaccount "$release" >/dev/null || fail "no ServiceAccount $release"
for kind in servicemonitor podmonitor prometheusrule; do
  [[ -z $(kubectl get -n "$ns" "$kind" -o name 2>/dev/null) ]] || fail "a $kind was created with the default values"
done
log "helm install: Deployment, ServiceAccount, ClusterRole(Binding), leader-election Role(Binding), metrics Service as expected"

# --- the chart's RBAC, used for real -------------------------------------------
sa="system:serviceaccount:$ns:$release"
for denied in "update pods" "patch pods" "get configmaps" "update sparkapplications.ember.dev" \
  "patch sparkapplications.ember.dev" "get nodes" "create leases.coordination.k8s.io -n $jobs_ns"; do
  # shellcheck disable=SC2086
  [[ $(kubectl auth can-i $denied --as "$sa" -n "$jobs_ns" 2>/dev/null || true) == no ]] ||
    fail "the operator's ServiceAccount may '$denied', beyond what it needs"
done
token=$(kubectl create token "$release" -n "$ns" --duration=10m) || fail "could not get a token for $sa"
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
# The cluster's CA, whether the kubeconfig names a file or embeds it.
ca_file=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')
if [[ -n $ca_file ]]; then
  cp "$ca_file" "$work/ca.crt"
else
  kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$work/ca.crt"
fi
cat >"$work/sa.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "$server", certificate-authority: "$work/ca.crt"}}]
users: [{name: operator, user: {token: "$token"}}]
contexts: [{name: test, context: {cluster: test, user: operator, namespace: $ns}}]
current-context: test
EOF
"$build/bin/ember-operator" --kubeconfig "$work/sa.kubeconfig" --leader-election-namespace "$ns" \
  --leader-election-id "$release" --metrics-port -1 --health-port -1 --log-format text --log-level info \
  --executor-image "ember-executor:$app_version" >"$work/operator.log" 2>&1 &
pids+=($!)
kubectl apply -n "$jobs_ns" -f "$repo/manifests/examples/spark-pi.yaml" >/dev/null
deadline=$((SECONDS + 60))
until [[ $(kubectl get -n "$jobs_ns" sparkapp spark-pi -o jsonpath='{.status.applicationState.state}' 2>/dev/null) == SUBMITTED ]]; do
  ((SECONDS < deadline)) || { cat "$work/operator.log" >&2; fail "the operator, with the chart's RBAC, never submitted spark-pi"; }
  sleep 0.5
done
for obj in pod/spark-pi-driver pod/spark-pi-exec-1 pod/spark-pi-exec-2 service/spark-pi-driver-svc; do
  kubectl get -n "$jobs_ns" "$obj" >/dev/null || fail "$obj was not created"
done
# The operator records Events from a queue of its own, so one may land a
# little after the state it reports.
deadline=$((SECONDS + 30))
until [[ -n $(kubectl get -n "$jobs_ns" events --field-selector involvedObject.name=spark-pi -o name 2>/dev/null) ]]; do
  ((SECONDS < deadline)) || { cat "$work/operator.log" >&2; fail "the operator recorded no Event with the chart's RBAC within 30 s"; }
  sleep 0.5
done
kubectl delete -n "$jobs_ns" sparkapp spark-pi --wait=false >/dev/null
sleep 2 # let the deletion's reconcile run before reading the log
# A refusal logs as "Forbidden (403): ..."; a bare 403 would also match the
# milliseconds of a log line's timestamp.
if grep -Eiq 'forbidden|\(403\)' "$work/operator.log"; then
  grep -Ei 'forbidden|\(403\)' "$work/operator.log" | head -5 >&2
  fail "the API server refused the operator something with the chart's RBAC"
fi
kill "${pids[@]}" && wait "${pids[@]}" 2>/dev/null || true
pids=()
log "operator with the chart's ServiceAccount: spark-pi submitted (pods, Service, Events), nothing refused"

# --- upgrade -------------------------------------------------------------------
"$helm" upgrade "$release" "$chart" -n "$ns" --set "watchNamespaces={$jobs_ns}" --set workers=4 >/dev/null ||
  fail "helm upgrade failed"
kubectl get clusterrole "$release" >/dev/null 2>&1 && fail "the ClusterRole is still there after switching to watchNamespaces"
get -n "$jobs_ns" role "$release" | operator_rules || fail "the Role in $jobs_ns after the upgrade is missing or not the ClusterRole's rules"
get -n "$jobs_ns" rolebinding "$release" >/dev/null || fail "no RoleBinding in $jobs_ns after the upgrade"
get -n "$ns" deployment "$release" | jq_py "
a=d['spec']['template']['spec']['containers'][0]['args']
assert '--namespaces=$jobs_ns' in a and '--workers=4' in a, a
" || fail "the upgraded Deployment does not carry the new values"
log "helm upgrade: ClusterRole replaced by a Role in $jobs_ns, new args rolled out"

# --- uninstall -------------------------------------------------------------------
"$helm" uninstall "$release" -n "$ns" >/dev/null || fail "helm uninstall failed"
left=$(kubectl get deployment,service,serviceaccount,role,rolebinding -A -l "app.kubernetes.io/instance=$release" -o name) ||
  fail "could not list what helm uninstall left"
left+=$(kubectl get clusterrole,clusterrolebinding -l "app.kubernetes.io/instance=$release" -o name) ||
  fail "could not list what helm uninstall left"
[[ -z $left ]] || fail "helm uninstall left: $left"
kubectl get crd sparkapplications.ember.dev >/dev/null || fail "helm uninstall removed the CRD (Helm keeps CRDs)"
log "helm uninstall: nothing left but the CRD"

# --- examples --------------------------------------------------------------------
for f in "$repo"/manifests/examples/*.yaml; do
  kubectl apply --dry-run=server -n "$jobs_ns" -f "$f" >/dev/null || fail "$(basename "$f") does not apply"
done
log "manifests/examples: $(ls "$repo"/manifests/examples/*.yaml | wc -l) files apply"
# --- kustomize -------------------------------------------------------------------
bash "$repo/hack/render-manifests.sh" --check || fail "manifests/install is not the chart's default rendering: run hack/render-manifests.sh"
kubectl apply -k "$repo/manifests" >"$work/kustomize.out" || fail "kubectl apply -k manifests/ failed"
kubectl get -n ember-system deployment ember-operator >/dev/null || fail "kubectl apply -k did not create the operator Deployment"
kubectl get clusterrole ember-operator >/dev/null || fail "kubectl apply -k did not create the ClusterRole"
kubectl delete -k "$repo/manifests" --wait=false >/dev/null
log "kubectl apply -k manifests/: $(wc -l <"$work/kustomize.out") objects"

echo "PASS: chart"
