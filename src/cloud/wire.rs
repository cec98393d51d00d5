//! Wire types of the ECS JSON answers. Work in progress.
