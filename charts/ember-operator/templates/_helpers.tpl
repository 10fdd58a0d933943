{{/* The release's name for its objects, at most 63 characters. */}}
{{- define "ember-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ember-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ember-operator.labels" -}}
{{ include "ember-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ember-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ember-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ember-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ember-operator.executorImage" -}}
{{- if .Values.executorImage.repository -}}
{{- printf "%s:%s" .Values.executorImage.repository (default .Chart.AppVersion .Values.executorImage.tag) -}}
{{- end -}}
{{- end -}}

{{/* The operator's permissions, the same in a ClusterRole and in each Role. */}}
{{- define "ember-operator.rules" -}}
# Watches applications and writes only their status; deletes an application
# only when its timeToLiveSeconds has passed.
- apiGroups: ["ember.dev"]
  resources: ["sparkapplications"]
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: ["ember.dev"]
  resources: ["sparkapplications/status"]
  verbs: ["get", "update", "patch"]
# Creates, follows and removes each run's pods, driver Service and Secret.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["services", "secrets"]
  verbs: ["get", "list", "watch", "create", "delete"]
# Records Events on applications.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
