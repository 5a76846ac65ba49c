variable "region" {
  description = "AWS region"
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix of every resource"
  type        = string
  default     = "pulse-prod"
}

variable "bucket_name" {
  description = "Name of the checkpoint bucket (globally unique)"
  type        = string
}

variable "key_prefix" {
  description = "Key prefix of the runtime's objects in the bucket; empty for the whole bucket"
  type        = string
  default     = ""
}

variable "image" {
  description = "Runtime image, pinned by tag or digest"
  type        = string
}

variable "ecr_repository_arns" {
  description = "ECR repositories of the image; empty when it is pulled from a public registry"
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key for the bucket (SSE-KMS); null for SSE-S3"
  type        = string
  default     = null
}

variable "auth_tokens_secret_arn" {
  description = "Secrets Manager secret whose value is the runtime's tokens JSON (PULSE_AUTH_TOKENS); production always authenticates"
  type        = string
}

variable "auth_tokens_kms_key_arn" {
  description = "Customer-managed KMS key of that secret; null for the aws/secretsmanager key"
  type        = string
  default     = null
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC"
  type        = string
  default     = "10.50.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones of the subnets"
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "worker_cidr_blocks" {
  description = "CIDR blocks of the workers allowed to reach gRPC"
  type        = list(string)
}

variable "monitoring_cidr_blocks" {
  description = "CIDR blocks of Prometheus allowed to reach metrics"
  type        = list(string)
}

variable "tags" {
  description = "Tags of every resource"
  type        = map(string)
  default     = {}
}

variable "desired_count" {
  description = "Runtime tasks (replicas) over the bucket: they share it and nothing else, and clients fail over between them"
  type        = number
  default     = 2
}
