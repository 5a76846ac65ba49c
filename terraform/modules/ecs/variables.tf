variable "name" {
  description = "Name of the cluster, service and task family"
  type        = string
}

variable "image" {
  description = "Runtime image, pinned by tag or digest (e.g. ghcr.io/your-org/pulsecheckpoint-runtime:0.1.0)"
  type        = string
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU)"
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory in MiB"
  type        = number
  default     = 2048
}

variable "desired_count" {
  description = "Number of runtime tasks: replicas over the one bucket and key prefix, sharing nothing else (docs/operations.md, \"Scaling: replicas\"); each names itself hostname-pid-random in pulse_replica_info"
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number of tasks, 0 or more."
  }
}

variable "vpc_id" {
  description = "VPC of the service discovery namespace"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in"
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks"
  type        = list(string)
}

variable "task_role_arn" {
  description = "Role the runtime runs as (its S3 permissions)"
  type        = string
}

variable "execution_role_arn" {
  description = "Role ECS uses to pull the image and write logs"
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch Logs group of the containers (created here)"
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the runtime's logs, in days"
  type        = number
  default     = 30
}

variable "bucket_name" {
  description = "Checkpoint bucket (PULSE_S3_BUCKET)"
  type        = string
}

variable "key_prefix" {
  description = "Key prefix in the bucket (PULSE_S3_PREFIX)"
  type        = string
  default     = ""
}

variable "log_level" {
  description = "PULSE_LOG_LEVEL: trace, debug, info, warn or error"
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error."
  }
}

variable "extra_environment" {
  description = "More PULSE_* settings for the container, by environment variable name (not the auth ones: see auth_tokens_secret_arn and allow_anonymous)"
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.extra_environment), ["PULSE_AUTH_TOKENS", "PULSE_AUTH_ALLOW_ANONYMOUS"])) == 0
    error_message = "extra_environment must not set PULSE_AUTH_TOKENS or PULSE_AUTH_ALLOW_ANONYMOUS: use auth_tokens_secret_arn (tokens from Secrets Manager) and allow_anonymous."
  }
}

variable "auth_tokens_secret_arn" {
  description = "ARN of a Secrets Manager secret whose value is the tokens JSON, passed as PULSE_AUTH_TOKENS: [{\"name\", \"sha256\" (hex SHA-256 of the token), \"role\", \"workers\"?, \"datasets\"?}]; null for none (then allow_anonymous must be true)"
  type        = string
  default     = null

  validation {
    condition     = var.auth_tokens_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[^:]+$", var.auth_tokens_secret_arn))
    error_message = "auth_tokens_secret_arn must be the full ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>), without a JSON key or version suffix."
  }
}

variable "allow_anonymous" {
  description = "PULSE_AUTH_ALLOW_ANONYMOUS: serve without tokens, every caller who reaches the task acting as admin; for development networks only"
  type        = bool
  default     = false
}

variable "grpc_port" {
  description = "Port of the gRPC API"
  type        = number
  default     = 50051
}

variable "metrics_port" {
  description = "Port of /metrics, /healthz and /readyz"
  type        = number
  default     = 9090
}

variable "service_discovery_namespace" {
  description = "Private DNS namespace; workers reach the runtime at runtime.<namespace>:<grpc_port>"
  type        = string
  default     = "pulse.internal"
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on the cluster"
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}
