{{/*
Names, labels, the settings checks and the pod template shared by the API and the worker.
*/}}

{{/* The chart name, for the app.kubernetes.io/name label. */}}
{{- define "copilot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object name: the release name (or fullnameOverride). Cut to 55
characters so that the longest suffix, `-migrate`, still fits a 63-character name.
*/}}
{{- define "copilot.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- end -}}

{{- define "copilot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "copilot.labels" -}}
helm.sh/chart: {{ include "copilot.chart" . }}
app.kubernetes.io/name: {{ include "copilot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "copilot.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: copilot
{{- end -}}

{{/* Labels that select one component's pods. Takes (dict "root" $ "component" "api"). */}}
{{- define "copilot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "copilot.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's objects. Takes (dict "root" $ "component" "api"). */}}
{{- define "copilot.componentLabels" -}}
{{ include "copilot.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "copilot.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{- define "copilot.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "copilot.imageTag" .) -}}
{{- end -}}

{{- define "copilot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "copilot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pods read: the operator's, or the one the chart creates. */}}
{{- define "copilot.secretName" -}}
{{- default (include "copilot.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/*
A value as an environment variable's text. YAML numbers reach templates as float64, which
print as 2.62144e+07; whole numbers are printed as integers instead.
*/}}
{{- define "copilot.envText" -}}
{{- if kindIs "float64" . -}}
{{- if eq . (floor .) -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/*
Environment variables of a chart-created Secret, from `secrets`; empty ones are left out.
Takes (dict "root" $ "objectStorage" bool): whether to include the AWS_ credentials.
*/}}
{{- define "copilot.secretEnv" -}}
{{- $secrets := .root.Values.secrets -}}
{{- $variables := dict "database_url" "COPILOT_DATABASE_URL" "platform_token" "COPILOT_PLATFORM_TOKEN" "secret_key" "COPILOT_SECRET_KEY" "llm_api_key" "COPILOT_LLM_API_KEY" "smtp_url" "COPILOT_SMTP_URL" -}}
{{- if .objectStorage -}}
{{- $variables = merge $variables (dict "aws_access_key_id" "AWS_ACCESS_KEY_ID" "aws_secret_access_key" "AWS_SECRET_ACCESS_KEY" "aws_session_token" "AWS_SESSION_TOKEN") -}}
{{- end -}}
{{- $env := dict -}}
{{- range $key, $variable := $variables -}}
{{- $value := get $secrets $key | default "" | toString -}}
{{- if $value -}}
{{- $_ := set $env $variable $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
Refuses values that would deploy something broken; every message says what to change.
Included by the ConfigMap, which every install renders.
*/}}
{{- define "copilot.validate" -}}
{{- $v := .Values -}}
{{- range $key := list "listen" "data_dir" "models_dir" "console_dir" "knowledge_uri" "database_url" "platform_token" "secret_key" "llm_api_key" "smtp_url" -}}
{{- if hasKey $v.settings $key -}}
{{- fail (printf "settings.%s is not a chart setting: the chart sets it itself, or it is secret (use secrets.%s or existingSecret)" $key $key) -}}
{{- end -}}
{{- end -}}
{{- if and (not $v.worker.enabled) (ne $v.api.role "all") -}}
{{- fail "worker.enabled=false leaves no pod running the background workers: set api.role=all, or enable the worker" -}}
{{- end -}}
{{- if eq $v.knowledge.storage "pvc" -}}
{{- $hint := "knowledge.storage=pvc keeps the knowledge base on one volume, written by one API pod and one worker pod; use knowledge.storage=s3 to run more" -}}
{{- if gt (int $v.api.replicas) 1 -}}
{{- fail (printf "%s (api.replicas is %d, must be 1)" $hint (int $v.api.replicas)) -}}
{{- end -}}
{{- if $v.api.autoscaling.enabled -}}
{{- fail (printf "%s (api.autoscaling.enabled must be false)" $hint) -}}
{{- end -}}
{{- if and $v.worker.enabled (gt (int $v.worker.replicas) 1) -}}
{{- fail (printf "%s (worker.replicas is %d, must be 1)" $hint (int $v.worker.replicas)) -}}
{{- end -}}
{{- if and $v.worker.enabled $v.worker.autoscaling.enabled -}}
{{- fail (printf "%s (worker.autoscaling.enabled must be false)" $hint) -}}
{{- end -}}
{{- else -}}
{{- if not (hasPrefix "s3://" $v.knowledge.s3.uri) -}}
{{- fail "knowledge.storage=s3 needs knowledge.s3.uri, e.g. s3://bucket/prefix" -}}
{{- end -}}
{{- if and (not $v.existingSecret) (not $v.secrets.secret_key) -}}
{{- fail "knowledge.storage=s3 needs secrets.secret_key (at least 32 characters, the same for every pod, e.g. `openssl rand -hex 32`), or existingSecret with COPILOT_SECRET_KEY" -}}
{{- end -}}
{{- end -}}
{{- range $component := list "api" "worker" -}}
{{- $autoscaling := (get $v $component).autoscaling -}}
{{- if and $autoscaling.enabled (gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling.minReplicas is above maxReplicas" $component) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The environment that comes from a Secret. Takes (dict "root" $ "secret" name
"objectStorage" bool). COPILOT_DATABASE_URL is required (a pod does not start without it),
and so is COPILOT_SECRET_KEY with s3 storage, where the data folder is not shared; the
rest is optional. The AWS_ credentials only with s3 storage and objectStorage.
*/}}
{{- define "copilot.secretEnvRefs" -}}
{{- $secret := .secret -}}
{{- $s3 := eq .root.Values.knowledge.storage "s3" -}}
{{- $variables := list (list "COPILOT_DATABASE_URL" false) (list "COPILOT_SECRET_KEY" (not $s3)) (list "COPILOT_PLATFORM_TOKEN" true) (list "COPILOT_LLM_API_KEY" true) (list "COPILOT_SMTP_URL" true) -}}
{{- if and $s3 .objectStorage -}}
{{- $variables = concat $variables (list (list "AWS_ACCESS_KEY_ID" true) (list "AWS_SECRET_ACCESS_KEY" true) (list "AWS_SESSION_TOKEN" true)) -}}
{{- end -}}
{{- range $variables }}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ index . 0 }}
      {{- if index . 1 }}
      optional: true
      {{- end }}
{{- end -}}
{{- end -}}

{{/*
The affinity of a component's pods: the values' rules, plus, with a ReadWriteOnce volume,
a required rule that puts every API and worker pod of the release on one node (the first
pod goes anywhere, the others follow it).
*/}}
{{- define "copilot.affinity" -}}
{{- $root := .root -}}
{{- $affinity := deepCopy (.values.affinity | default dict) -}}
{{- if and (eq $root.Values.knowledge.storage "pvc") (eq $root.Values.knowledge.pvc.accessMode "ReadWriteOnce") -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (dict "app.kubernetes.io/name" (include "copilot.name" $root) "app.kubernetes.io/instance" $root.Release.Name) "matchExpressions" (list (dict "key" "app.kubernetes.io/component" "operator" "In" "values" (list "api" "worker")))) -}}
{{- $podAffinity := get $affinity "podAffinity" | default dict -}}
{{- $required := get $podAffinity "requiredDuringSchedulingIgnoredDuringExecution" | default list -}}
{{- $_ := set $podAffinity "requiredDuringSchedulingIgnoredDuringExecution" (append $required $term) -}}
{{- $_ := set $affinity "podAffinity" $podAffinity -}}
{{- end -}}
{{- if $affinity -}}
{{- toYaml $affinity -}}
{{- end -}}
{{- end -}}

{{/*
The pod template of the API and the worker Deployments.
Takes (dict "root" $ "component" "api" "role" "api" "values" .Values.api).
*/}}
{{- define "copilot.podTemplate" -}}
{{- $root := .root -}}
{{- $values := .values -}}
{{- $selector := dict "root" $root "component" .component -}}
metadata:
  labels:
    {{- include "copilot.componentLabels" $selector | nindent 4 }}
    {{- with $values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- if not $root.Values.existingSecret }}
    checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
    {{- end }}
    {{- with $values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "copilot.serviceAccountName" $root }}
  automountServiceAccountToken: false
  # Service links would add variables such as COPILOT_PORT to the environment, where the
  # service reads its COPILOT_ settings.
  enableServiceLinks: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ $values.terminationGracePeriodSeconds }}
  {{- with $values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with include "copilot.affinity" . }}
  affinity:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with $values.topologySpreadConstraints }}
  {{- $constraints := list }}
  {{- range . }}
  {{- $constraint := deepCopy . }}
  {{- if not (hasKey $constraint "labelSelector") }}
  {{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "copilot.selectorLabels" $selector | fromYaml)) }}
  {{- end }}
  {{- $constraints = append $constraints $constraint }}
  {{- end }}
  topologySpreadConstraints:
    {{- toYaml $constraints | nindent 4 }}
  {{- end }}
  containers:
    - name: copilot
      image: {{ include "copilot.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: ["/opt/copilot/bin/copilot"]
      args: ["serve", "--role", {{ .role | quote }}]
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "copilot.fullname" $root }}
      env:
        - name: COPILOT_ROLE
          value: {{ .role | quote }}
        {{- include "copilot.secretEnvRefs" (dict "root" $root "secret" (include "copilot.secretName" $root) "objectStorage" true) | trim | nindent 8 }}
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        {{- toYaml $root.Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        {{- toYaml $root.Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        {{- toYaml $root.Values.probes.readiness | nindent 8 }}
      resources:
        {{- toYaml $values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      {{- with $values.lifecycle }}
      lifecycle:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/copilot
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: data
      {{- if eq $root.Values.knowledge.storage "pvc" }}
      persistentVolumeClaim:
        claimName: {{ include "copilot.claimName" $root }}
      {{- else }}
      emptyDir:
        sizeLimit: {{ $root.Values.scratch.dataSizeLimit }}
      {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.scratch.tmpSizeLimit }}
{{- end -}}

{{- define "copilot.claimName" -}}
{{- default (printf "%s-data" (include "copilot.fullname" .)) .Values.knowledge.pvc.existingClaim -}}
{{- end -}}

{{/* "1 pod", "3 pods" or "3 to 10 pods", for NOTES.txt. Takes .Values.api or .Values.worker. */}}
{{- define "copilot.podCount" -}}
{{- if .autoscaling.enabled }}{{ .autoscaling.minReplicas }} to {{ .autoscaling.maxReplicas }} pods{{ else }}{{ .replicas }} pod{{ if ne (int .replicas) 1 }}s{{ end }}{{ end -}}
{{- end -}}

{{/* Whether a component runs more than one pod, so that a PodDisruptionBudget helps. */}}
{{- define "copilot.severalPods" -}}
{{- if .autoscaling.enabled -}}
{{- if gt (int .autoscaling.minReplicas) 1 }}true{{ end -}}
{{- else if gt (int .replicas) 1 -}}
true
{{- end -}}
{{- end -}}
