# Development environment: one runtime task, one NAT gateway, a bucket that
# terraform destroy may empty, short log retention.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "pulsecheckpoint"
      Environment = "dev"
      ManagedBy   = "terraform"
    })
  }
}

locals {
  log_group_name = "/pulse/${var.name}/runtime"
}

module "vpc" {
  source = "../../modules/vpc"

  name                 = var.name
  cidr_block           = var.vpc_cidr_block
  availability_zones   = var.availability_zones
  public_subnet_cidrs  = [for i in range(length(var.availability_zones)) : cidrsubnet(var.vpc_cidr_block, 8, i)]
  private_subnet_cidrs = [for i in range(length(var.availability_zones)) : cidrsubnet(var.vpc_cidr_block, 8, i + 100)]
  single_nat_gateway   = true
  enable_flow_logs     = false
}

module "s3" {
  source = "../../modules/s3"

  bucket_name                        = var.bucket_name
  kms_key_arn                        = var.kms_key_arn
  force_destroy                      = true
  noncurrent_version_expiration_days = 7
}

module "iam" {
  source = "../../modules/iam"

  name                = var.name
  bucket_arn          = module.s3.bucket_arn
  key_prefix          = var.key_prefix
  kms_key_arn         = var.kms_key_arn
  log_group_name      = local.log_group_name
  ecr_repository_arns = var.ecr_repository_arns

  auth_tokens_secret_arn  = var.auth_tokens_secret_arn
  auth_tokens_kms_key_arn = var.auth_tokens_kms_key_arn
}

module "security_groups" {
  source = "../../modules/security-groups"

  name                   = var.name
  vpc_id                 = module.vpc.vpc_id
  worker_cidr_blocks     = var.worker_cidr_blocks
  monitoring_cidr_blocks = var.monitoring_cidr_blocks
}

module "ecs" {
  source = "../../modules/ecs"

  name                        = var.name
  image                       = var.image
  cpu                         = 512
  memory                      = 1024
  desired_count               = var.desired_count
  vpc_id                      = module.vpc.vpc_id
  subnet_ids                  = module.vpc.private_subnet_ids
  security_group_ids          = [module.security_groups.runtime_security_group_id]
  task_role_arn               = module.iam.task_role_arn
  execution_role_arn          = module.iam.execution_role_arn
  log_group_name              = local.log_group_name
  log_retention_days          = 7
  bucket_name                 = module.s3.bucket_name
  key_prefix                  = var.key_prefix
  log_level                   = "debug"
  service_discovery_namespace = "pulse-dev.internal"
  container_insights          = false

  # The task listens on 0.0.0.0: it needs tokens, or allow_anonymous.
  auth_tokens_secret_arn = var.auth_tokens_secret_arn
  allow_anonymous        = var.allow_anonymous
}
